//! Value parsers of the numeric flags: a negative or malformed number gets a message that says
//! what the flag takes (clap names the flag and the value). Negative numbers reach these parsers
//! because [`super::command`] lets every argument take values that start with `-` and a digit.

use std::str::FromStr;

/// A whole number >= 0 (`usize`, `u32`, `u64`).
pub fn unsigned<T: FromStr>(s: &str) -> Result<T, String> {
    let t = s.trim();
    if let Ok(v) = t.parse::<T>() {
        return Ok(v);
    }
    if t.starts_with('-') && t[1..].parse::<f64>().is_ok() {
        return Err("a negative number; this flag takes a whole number >= 0".into());
    }
    if t.parse::<f64>().is_ok_and(|v| v.is_finite() && v > 0.0 && v.fract() == 0.0) {
        return Err("too large".into());
    }
    Err("not a whole number; this flag takes a whole number >= 0 (such as 3)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negatives_and_fractions_are_named() {
        assert_eq!(unsigned::<usize>("3"), Ok(3));
        assert!(unsigned::<usize>("-3").unwrap_err().contains("negative"));
        assert!(unsigned::<u32>("2.5").unwrap_err().contains("not a whole number"));
        assert!(unsigned::<u32>("x").unwrap_err().contains("not a whole number"));
        assert!(unsigned::<u32>("99999999999").unwrap_err().contains("too large"));
    }
}
