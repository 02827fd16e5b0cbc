//! The compact binary CSR the builtin graphs are compiled into (by `build.rs`, from the committed
//! GEARS TSVs), so that `builtin:NAME` loads in about a millisecond instead of decompressing and
//! parsing megabytes of text. `tests/builtin.rs` checks that each packed graph equals the TSV
//! parsed by the ordinary loader.
//!
//! This file is also compiled into `build.rs` (`#[path]`), so it uses std only.
//!
//! Layout (little-endian): the 8-byte magic; eight `u32`s: nodes `n`, entries `nnz`, distinct
//! weights `k`, symbol bytes `s`, data lines, dropped lines, duplicates, flags (bit 0: a header
//! was skipped; bit 1: column indices are `u16`; bit 2: weight indices are `u16`); `n + 1` row
//! offsets (`u32`); `nnz` column indices; `nnz` indices into the weight table; `k` weights
//! (`f32`); the `n` symbols joined by `\n` (`s` bytes; none for an integer-labelled graph).

/// First bytes of a packed graph.
pub const MAGIC: &[u8; 8] = b"GRCSR\x00\x01\x00";

/// A graph in the parts the packed form stores.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Packed {
    /// Node symbols in node order (byte-wise sorted); empty for integer labels.
    pub symbols: Vec<String>,
    /// Row offsets, length `n + 1`.
    pub indptr: Vec<u32>,
    /// Column indices, sorted within each row.
    pub indices: Vec<u32>,
    /// Edge weights.
    pub weights: Vec<f32>,
    /// Data lines of the source file.
    pub lines: u32,
    /// Lines dropped for a weight <= 0.
    pub dropped: u32,
    /// Duplicate rows collapsed.
    pub duplicates: u32,
    /// Whether the source file had a header line.
    pub header: bool,
}

impl Packed {
    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }
}

/// The packed bytes of `p`.
pub fn encode(p: &Packed) -> Vec<u8> {
    let n = p.n();
    let mut palette: Vec<u32> = p.weights.iter().map(|w| w.to_bits()).collect();
    palette.sort_unstable();
    palette.dedup();
    let narrow_cols = n <= 1 << 16;
    let narrow_w = palette.len() <= 1 << 16;
    let sym = p.symbols.join("\n");
    let mut out = Vec::with_capacity(64 + 4 * n + 8 * p.indices.len() + sym.len());
    out.extend_from_slice(MAGIC);
    let flags = p.header as u32 | (narrow_cols as u32) << 1 | (narrow_w as u32) << 2;
    for v in [n as u32, p.indices.len() as u32, palette.len() as u32, sym.len() as u32, p.lines, p.dropped, p.duplicates, flags] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for &v in &p.indptr {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let put = |out: &mut Vec<u8>, v: u32, narrow: bool| {
        if narrow {
            out.extend_from_slice(&(v as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&v.to_le_bytes());
        }
    };
    for &c in &p.indices {
        put(&mut out, c, narrow_cols);
    }
    for w in &p.weights {
        let k = palette.binary_search(&w.to_bits()).unwrap_or(0) as u32;
        put(&mut out, k, narrow_w);
    }
    for &b in &palette {
        out.extend_from_slice(&b.to_le_bytes());
    }
    out.extend_from_slice(sym.as_bytes());
    out
}

/// Reads `count` little-endian integers of 2 or 4 bytes from the front of `b`.
fn take<'a>(b: &mut &'a [u8], count: usize, width: usize) -> Result<&'a [u8], String> {
    let len = count.checked_mul(width).ok_or("size overflow")?;
    if b.len() < len {
        return Err(format!("truncated: {len} bytes wanted, {} left", b.len()));
    }
    let (head, tail) = b.split_at(len);
    *b = tail;
    Ok(head)
}

fn ints(bytes: &[u8], width: usize) -> Vec<u32> {
    if width == 2 {
        bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]) as u32).collect()
    } else {
        bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }
}

/// Decodes packed bytes, checking every size and index (an error, never a panic, on bad bytes).
pub fn decode(bytes: &[u8]) -> Result<Packed, String> {
    let mut b = bytes;
    if take(&mut b, 8, 1)? != MAGIC {
        return Err("not a packed graph (bad magic)".into());
    }
    let head = ints(take(&mut b, 8, 4)?, 4);
    let (n, nnz, k, s) = (head[0] as usize, head[1] as usize, head[2] as usize, head[3] as usize);
    let flags = head[7];
    let cw = if flags & 2 != 0 { 2 } else { 4 };
    let ww = if flags & 4 != 0 { 2 } else { 4 };
    let indptr = ints(take(&mut b, n + 1, 4)?, 4);
    let indices = ints(take(&mut b, nnz, cw)?, cw);
    let widx = ints(take(&mut b, nnz, ww)?, ww);
    let palette: Vec<f32> = ints(take(&mut b, k, 4)?, 4).into_iter().map(f32::from_bits).collect();
    let sym = std::str::from_utf8(take(&mut b, s, 1)?).map_err(|e| format!("symbols are not UTF-8: {e}"))?;
    if !b.is_empty() {
        return Err(format!("{} trailing bytes", b.len()));
    }
    if indptr[0] != 0 || indptr[n] as usize != nnz || indptr.windows(2).any(|w| w[0] > w[1]) {
        return Err("row offsets are not a valid CSR".into());
    }
    if indices.iter().any(|&c| c as usize >= n) || widx.iter().any(|&w| w as usize >= k) {
        return Err("an index is out of range".into());
    }
    let symbols: Vec<String> = if s == 0 { Vec::new() } else { sym.split('\n').map(String::from).collect() };
    if !symbols.is_empty() && symbols.len() != n {
        return Err(format!("{} symbols for {n} nodes", symbols.len()));
    }
    Ok(Packed {
        symbols,
        indptr,
        indices,
        weights: widx.into_iter().map(|w| palette[w as usize]).collect(),
        lines: head[4],
        dropped: head[5],
        duplicates: head[6],
        header: flags & 1 != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize) -> Packed {
        let indptr: Vec<u32> = (0..=n as u32).map(|r| r.min(3)).collect();
        Packed {
            symbols: (0..n).map(|i| format!("G{i:05}")).collect(),
            indptr,
            indices: vec![1, 0, (n - 1) as u32],
            weights: vec![0.5, 1.0, 0.5],
            lines: 3,
            dropped: 1,
            duplicates: 2,
            header: true,
        }
    }

    #[test]
    fn round_trips_narrow_and_wide() {
        for n in [3, 70_000] {
            let p = sample(n);
            let bytes = encode(&p);
            assert_eq!(decode(&bytes).unwrap(), p, "n = {n}");
        }
        let mut ints = sample(4);
        ints.symbols.clear();
        assert_eq!(decode(&encode(&ints)).unwrap(), ints);
    }

    #[test]
    fn bad_bytes_are_errors() {
        let bytes = encode(&sample(3));
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut {cut}");
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x5a;
            let _ = decode(&b); // no panic
        }
    }
}
