//! Node sets: lists of sorted node-id sets (seed sets, balls, candidate subgraphs) and the
//! dense/sparse ball representations the coverage kernels work on.

/// Many sorted sets of node ids stored back to back: set `i` is `members[offsets[i]..offsets[i+1]]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetList {
    /// Start of each set, length `len() + 1`.
    pub offsets: Vec<u64>,
    /// Node ids, each set sorted ascending without duplicates.
    pub members: Vec<u32>,
}

impl SetList {
    /// An empty list.
    pub fn new() -> Self {
        SetList { offsets: vec![0], members: Vec::new() }
    }

    /// Builds a list from individual sets (each is sorted and deduplicated here).
    pub fn from_sets<I: IntoIterator<Item = Vec<u32>>>(sets: I) -> Self {
        let mut s = SetList::new();
        for mut v in sets {
            v.sort_unstable();
            v.dedup();
            s.push(&v);
        }
        s
    }

    /// Appends a set that is already sorted and deduplicated.
    pub fn push(&mut self, sorted: &[u32]) {
        debug_assert!(sorted.windows(2).all(|w| w[0] < w[1]));
        self.members.extend_from_slice(sorted);
        self.offsets.push(self.members.len() as u64);
    }

    /// Number of sets.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether there are no sets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Set `i`.
    #[inline]
    pub fn get(&self, i: usize) -> &[u32] {
        &self.members[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// Size of set `i`.
    #[inline]
    pub fn size(&self, i: usize) -> usize {
        (self.offsets[i + 1] - self.offsets[i]) as usize
    }

    /// Iterates over the sets.
    pub fn iter(&self) -> impl Iterator<Item = &[u32]> {
        (0..self.len()).map(move |i| self.get(i))
    }
}

/// A fixed-size bitset over graph nodes in 64-bit words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitset {
    /// Words, bit `i % 64` of word `i / 64` is node `i`.
    pub words: Vec<u64>,
    /// Number of valid bits.
    pub n: usize,
}

impl Bitset {
    /// All-zero bitset over `n` nodes.
    pub fn new(n: usize) -> Self {
        Bitset { words: vec![0; n.div_ceil(64)], n }
    }

    /// Whether bit `i` is set.
    #[inline]
    pub fn get(&self, i: u32) -> bool {
        self.words[(i >> 6) as usize] >> (i & 63) & 1 == 1
    }

    /// Sets bit `i`; returns whether it was newly set.
    #[inline]
    pub fn insert(&mut self, i: u32) -> bool {
        let w = &mut self.words[(i >> 6) as usize];
        let m = 1u64 << (i & 63);
        let new = *w & m == 0;
        *w |= m;
        new
    }

    /// Number of set bits.
    pub fn count(&self) -> u64 {
        self.words.iter().map(|w| w.count_ones() as u64).sum()
    }
}

/// Dense bitset rows, one per candidate ball, `words_per_row` 64-bit words each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DenseRows {
    /// Words per row = ceil(n_nodes / 64).
    pub words_per_row: usize,
    /// Row-major words.
    pub words: Vec<u64>,
}

impl DenseRows {
    /// Row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &[u64] {
        &self.words[i * self.words_per_row..(i + 1) * self.words_per_row]
    }
}

/// The L-hop balls of all candidates, in the representation that suits their density:
/// sorted member lists when balls are small (32 bits per member), dense bitset rows when a
/// ball is larger than `n_nodes / 32` members on average (1 bit per node).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BallSet {
    /// Sorted member lists.
    Sparse {
        /// Number of graph nodes.
        n_nodes: usize,
        /// One set per candidate.
        sets: SetList,
    },
    /// Bitset rows.
    Dense {
        /// Number of graph nodes.
        n_nodes: usize,
        /// Number of candidates.
        n_sets: usize,
        /// The rows.
        rows: DenseRows,
    },
}

/// Which ball representation to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum BallLayout {
    /// Dense when the mean ball size exceeds n_nodes / 32, else sparse.
    #[default]
    Auto,
    /// Always sorted member lists.
    Sparse,
    /// Always bitset rows.
    Dense,
}

impl BallSet {
    /// Number of graph nodes.
    pub fn n_nodes(&self) -> usize {
        match self {
            BallSet::Sparse { n_nodes, .. } | BallSet::Dense { n_nodes, .. } => *n_nodes,
        }
    }

    /// Number of balls.
    pub fn len(&self) -> usize {
        match self {
            BallSet::Sparse { sets, .. } => sets.len(),
            BallSet::Dense { n_sets, .. } => *n_sets,
        }
    }

    /// Whether there are no balls.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Members of ball `i`, sorted.
    pub fn members(&self, i: usize) -> Vec<u32> {
        match self {
            BallSet::Sparse { sets, .. } => sets.get(i).to_vec(),
            BallSet::Dense { rows, .. } => bits_to_ids(rows.row(i)),
        }
    }

    /// Bytes the representation occupies.
    pub fn bytes(&self) -> usize {
        match self {
            BallSet::Sparse { sets, .. } => sets.members.len() * 4 + sets.offsets.len() * 8,
            BallSet::Dense { rows, .. } => rows.words.len() * 8,
        }
    }

    /// Converts sparse member lists to the representation chosen by `layout`.
    pub fn from_sets(n_nodes: usize, sets: SetList, layout: BallLayout) -> Self {
        let dense = match layout {
            BallLayout::Sparse => false,
            BallLayout::Dense => true,
            BallLayout::Auto => !sets.is_empty() && sets.members.len() * 32 > sets.len() * n_nodes,
        };
        if !dense {
            return BallSet::Sparse { n_nodes, sets };
        }
        let wpr = n_nodes.div_ceil(64).max(1);
        let mut words = vec![0u64; wpr * sets.len()];
        for (i, s) in sets.iter().enumerate() {
            let row = &mut words[i * wpr..(i + 1) * wpr];
            for &m in s {
                row[(m >> 6) as usize] |= 1 << (m & 63);
            }
        }
        BallSet::Dense { n_nodes, n_sets: sets.len(), rows: DenseRows { words_per_row: wpr, words } }
    }

    /// The same balls as sorted member lists.
    pub fn to_sets(&self) -> SetList {
        match self {
            BallSet::Sparse { sets, .. } => sets.clone(),
            BallSet::Dense { n_sets, .. } => {
                let mut s = SetList::new();
                for i in 0..*n_sets {
                    s.push(&self.members(i));
                }
                s
            }
        }
    }
}

/// The set bits of a word slice as ids.
pub fn bits_to_ids(words: &[u64]) -> Vec<u32> {
    let mut out = Vec::new();
    for (wi, &w) in words.iter().enumerate() {
        let mut w = w;
        while w != 0 {
            out.push((wi as u32) * 64 + w.trailing_zeros());
            w &= w - 1;
        }
    }
    out
}
