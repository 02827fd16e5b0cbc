//! Node-token interning for the edge-list loader: each distinct token gets a provisional id in
//! first-seen order, so the file's hundreds of thousands of endpoint tokens are hashed once each
//! and only the distinct ones are sorted (instead of sorting every token, as GEARS's node map does).

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A small multiply-rotate hasher for short node tokens (gene symbols, integer ids). Not
/// DoS-resistant, which a loader of local files does not need; several times faster than SipHash
/// on tokens this short.
#[derive(Default, Clone, Copy)]
pub struct TokenHasher(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

impl TokenHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for TokenHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut v = [0u8; 8];
            v[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(v) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Fold the well-mixed high bits into the low ones that pick the bucket.
        self.0 ^ (self.0 >> 29)
    }
}

/// Distinct tokens in first-seen order, with the line each was first seen on.
#[derive(Default)]
pub struct Interner<'a> {
    ids: HashMap<Cow<'a, str>, u32, BuildHasherDefault<TokenHasher>>,
    /// Token of each provisional id.
    pub tokens: Vec<Cow<'a, str>>,
    /// 1-based line on which each token first appears (for errors about a token).
    pub first_line: Vec<usize>,
}

impl<'a> Interner<'a> {
    /// The provisional id of `tok` (seen on `line`), adding it if new.
    #[inline]
    pub fn id(&mut self, tok: Cow<'a, str>, line: usize) -> u32 {
        if let Some(&id) = self.ids.get(tok.as_ref()) {
            return id;
        }
        let id = self.tokens.len() as u32;
        self.tokens.push(tok.clone());
        self.first_line.push(line);
        self.ids.insert(tok, id);
        id
    }

    /// Number of distinct tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_first_seen_order() {
        let mut i = Interner::default();
        assert_eq!(i.id("B".into(), 1), 0);
        assert_eq!(i.id("A".into(), 1), 1);
        assert_eq!(i.id(Cow::Owned("B".to_string()), 2), 0);
        assert_eq!(i.id("".into(), 3), 2);
        assert_eq!(i.tokens, ["B", "A", ""]);
        assert_eq!(i.first_line, [1, 1, 3]);
        assert_eq!(i.len(), 3);
    }

    #[test]
    fn hasher_separates_prefixes_and_lengths() {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let b = BuildHasherDefault::<TokenHasher>::default();
        let hs: Vec<u64> = ["", "A", "A\0", "AB", "ABCDEFGH", "ABCDEFGHI", "ABCDEFGH\0"].iter().map(|s| b.hash_one(s)).collect();
        let mut u = hs.clone();
        u.sort_unstable();
        u.dedup();
        assert_eq!(u.len(), hs.len());
    }
}
