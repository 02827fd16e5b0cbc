//! Seeded uniform sampling without replacement (the Random baseline).

use crate::rng::SplitMix64;

/// `k` distinct indices from `0..n`, uniformly, in draw order (partial Fisher-Yates on SplitMix64).
/// The same seed gives the same sample on every platform. (IterPert's Random uses a fresh unseeded
/// torch generator, i.e. the same permutation every run; here the seed is explicit.)
pub fn sample_without_replacement(n: usize, k: usize, seed: u64) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..n as u32).collect();
    let mut rng = SplitMix64::new(seed);
    let k = k.min(n);
    for i in 0..k {
        let j = i + rng.below((n - i) as u64) as usize;
        idx.swap(i, j);
    }
    idx.truncate(k);
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_and_seeded() {
        let a = sample_without_replacement(100, 30, 7);
        let mut s = a.clone();
        s.sort();
        s.dedup();
        assert_eq!(s.len(), 30);
        assert_eq!(a, sample_without_replacement(100, 30, 7));
        assert_ne!(a, sample_without_replacement(100, 30, 8));
    }
}
