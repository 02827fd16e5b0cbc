//! Node-token interning for the edge-list loader: each distinct token gets a provisional id in
//! first-seen order, so the file's hundreds of thousands of endpoint tokens are looked up in a
//! small table and only the distinct ones are sorted afterwards (instead of sorting every token).
//!
//! The distinct tokens are copied into one compact arena, so lookups compare against a few hundred
//! kilobytes that stay in cache rather than against first occurrences scattered over the file.

/// Distinct tokens in first-seen order, with the line each was first seen on.
#[derive(Default)]
pub struct Interner {
    /// All distinct tokens, concatenated.
    arena: String,
    /// End offset in `arena` of each token.
    ends: Vec<usize>,
    /// Open-addressing table of (token id + 1, high hash bits as a quick reject before comparing
    /// bytes); id 0 = empty. One cache line serves both halves of a probe.
    slots: Vec<(u32, u32)>,
    /// 1-based line on which each token first appears (for errors about a token).
    pub first_line: Vec<usize>,
}

const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// A fast hash for short tokens (gene symbols, integer ids); not DoS-resistant, which a loader of
/// the user's own files does not need.
#[inline]
fn hash(s: &[u8]) -> u64 {
    let mut h = (s.len() as u64).wrapping_mul(K);
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut v = [0u8; 8];
        v[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(v)).wrapping_mul(K).rotate_left(29);
    }
    h ^= h >> 32;
    h = h.wrapping_mul(0xd6e8_feb8_6659_fd93);
    h ^ (h >> 29)
}

/// The slot tag of a token: high hash bits, with the low byte holding the length (so tokens of
/// another length are rejected without reading them).
#[inline]
fn tag_of(h: u64, len: usize) -> u32 {
    ((h >> 32) as u32 & !0xff) | len.min(255) as u32
}

impl Interner {
    /// Number of distinct tokens.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Token `id`.
    #[inline]
    pub fn token(&self, id: u32) -> &str {
        let i = id as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.arena[start..self.ends[i]]
    }

    /// Every token in id order.
    pub fn tokens(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len() as u32).map(|i| self.token(i))
    }

    /// The provisional id of `tok` (seen on `line`), adding it if new.
    #[inline]
    pub fn id(&mut self, tok: &str, line: usize) -> u32 {
        if 2 * (self.len() + 1) > self.slots.len() {
            self.grow();
        }
        let h = hash(tok.as_bytes());
        let tag = tag_of(h, tok.len());
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let (s, t) = self.slots[i];
            if s == 0 {
                let id = self.len() as u32;
                self.arena.push_str(tok);
                self.ends.push(self.arena.len());
                self.first_line.push(line);
                self.slots[i] = (id + 1, tag);
                return id;
            }
            if t == tag && self.token(s - 1) == tok {
                return s - 1;
            }
            i = (i + 1) & mask;
        }
    }

    /// Doubles the table (at least 1024 slots) and reinserts every token.
    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(1024);
        self.slots = vec![(0, 0); cap];
        let mask = cap - 1;
        for id in 0..self.len() as u32 {
            let tok = self.token(id);
            let h = hash(tok.as_bytes());
            let mut i = h as usize & mask;
            while self.slots[i].0 != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = (id + 1, tag_of(h, tok.len()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_first_seen_order() {
        let mut i = Interner::default();
        assert_eq!(i.id("B", 1), 0);
        assert_eq!(i.id("A", 1), 1);
        assert_eq!(i.id("B", 2), 0);
        assert_eq!(i.id("", 3), 2);
        assert_eq!(i.tokens().collect::<Vec<_>>(), ["B", "A", ""]);
        assert_eq!(i.first_line, [1, 1, 3]);
        assert_eq!(i.len(), 3);
    }

    #[test]
    fn many_tokens_survive_growth() {
        let mut i = Interner::default();
        let toks: Vec<String> = (0..5000).map(|k| format!("G{k}")).collect();
        for (k, t) in toks.iter().enumerate() {
            assert_eq!(i.id(t, k + 1), k as u32);
        }
        for (k, t) in toks.iter().enumerate().rev() {
            assert_eq!(i.id(t, 0), k as u32);
            assert_eq!(i.token(k as u32), t);
        }
        assert_eq!(i.len(), 5000);
    }

    #[test]
    fn hash_separates_prefixes_and_lengths() {
        let hs: Vec<u64> = ["", "A", "A\0", "AB", "ABCDEFGH", "ABCDEFGHI", "ABCDEFGH\0"].iter().map(|s| hash(s.as_bytes())).collect();
        let mut u = hs.clone();
        u.sort_unstable();
        u.dedup();
        assert_eq!(u.len(), hs.len());
    }
}
