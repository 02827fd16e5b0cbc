//! Selection stability: mean pairwise Jaccard similarity of selections (paper Eq. 19).

use std::collections::HashSet;

/// |A ∩ B| / |A ∪ B| (1 for two empty sets).
pub fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// Mean and sample standard deviation of the Jaccard similarity over all unordered pairs.
/// Returns `None` with fewer than two selections.
pub fn mean_pairwise_jaccard(sets: &[HashSet<String>]) -> Option<(f64, f64, Vec<f64>)> {
    if sets.len() < 2 {
        return None;
    }
    let mut v = Vec::new();
    for i in 0..sets.len() {
        for j in i + 1..sets.len() {
            v.push(jaccard(&sets[i], &sets[j]));
        }
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let sd = if v.len() > 1 { (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt() } else { 0.0 };
    Some((mean, sd, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> HashSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hand_computed() {
        let s = [set(&["a", "b"]), set(&["b", "c"]), set(&["a", "b"])];
        let (m, _, pairs) = mean_pairwise_jaccard(&s).unwrap();
        assert_eq!(pairs, vec![1.0 / 3.0, 1.0, 1.0 / 3.0]);
        assert!((m - 5.0 / 9.0).abs() < 1e-12);
        assert!(mean_pairwise_jaccard(&s[..1]).is_none());
    }
}
