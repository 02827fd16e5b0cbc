//! Reading AnnData `.h5ad` files with the pure-Rust `hdf5-pure` crate (no Python, no libhdf5).
//!
//! Supported layouts: `X` as a CSR group (`data`/`indices`/`indptr`), a CSC group (converted) or
//! a dense 2-D dataset; `obs`/`var` dataframes whose columns are string, numeric or boolean
//! datasets, or categoricals in the current layout (group with `codes` + `categories`) or the
//! pre-0.8 layout (integer codes with the labels in `<frame>/__categories/<column>`); `uns` dicts of
//! arrays (the GEARS DE entries). Every failure names the file and the field.

use super::dataset::CsrMatrix;
use crate::error::{Error, Result};
use hdf5_pure::{AttrValue, DType, File};
use std::collections::BTreeMap;
use std::path::Path;

/// One column of an `obs` / `var` dataframe.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// Strings (string arrays and categoricals, materialised; missing categorical codes are "").
    Str(Vec<String>),
    /// Numbers (integers, floats and booleans as 0/1).
    Num(Vec<f64>),
}

impl Column {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Column::Str(v) => v.len(),
            Column::Num(v) => v.len(),
        }
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An `obs` or `var` dataframe: its index and its columns in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Frame {
    /// The row names (`_index`).
    pub index: Vec<String>,
    /// Columns by name.
    pub columns: BTreeMap<String, Column>,
}

/// An open `.h5ad` file.
pub struct H5ad {
    path: String,
    file: File,
    /// File size in bytes (bounds what a dataset may declare, see [`H5ad::check_declared`]).
    len: u64,
}

fn attr_string(v: &AttrValue) -> Option<String> {
    match v {
        AttrValue::String(s) | AttrValue::AsciiString(s) | AttrValue::VarLenString(s) => Some(s.clone()),
        AttrValue::StringArray(a) | AttrValue::VarLenStringArray(a) if a.len() == 1 => Some(a[0].clone()),
        AttrValue::StringSized { value, .. } => Some(value.clone()),
        _ => None,
    }
}

/// Runs a reader closure, turning a panic inside the HDF5 decoder into an error. This is the h5ad
/// boundary's containment: `hdf5-pure` can panic on corrupt or truncated bytes (an index or a
/// length read from the file used unchecked), so every call into it goes through here, the panic
/// is caught with `catch_unwind`, and the caller turns the message into an [`Error::H5ad`] naming
/// the file and field. While the closure runs, the panic hook stays quiet on this thread, so the
/// user sees the clear error and no "panicked at" text (other panics still print as usual).
fn guarded<T>(f: impl FnOnce() -> std::result::Result<T, String>) -> std::result::Result<T, String> {
    quiet_hook_inside_guard();
    let was = IN_GUARD.with(|g| g.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    IN_GUARD.with(|g| g.set(was));
    match r {
        Ok(r) => r,
        Err(_) => Err("the HDF5 decoder failed on malformed data (corrupt or truncated file)".into()),
    }
}

thread_local! {
    /// Whether this thread is inside [`guarded`].
    static IN_GUARD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs (once) a panic hook that says nothing for panics inside [`guarded`] and hands every
/// other panic to the hook that was there before.
fn quiet_hook_inside_guard() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_GUARD.with(|g| g.get()) {
                previous(info);
            }
        }));
    });
}

/// Files larger than this are opened for streaming reads rather than loaded into memory.
pub const STREAM_ABOVE: u64 = 256 << 20;

/// The end-of-file address an HDF5 superblock declares (absolute), if a superblock is found in `head`.
pub fn declared_eof(head: &[u8]) -> Option<u64> {
    const SIG: &[u8] = b"\x89HDF\r\n\x1a\n";
    let base = [0usize, 512, 1024, 2048].into_iter().find(|&o| head.len() >= o + 8 && &head[o..o + 8] == SIG)?;
    let b = &head[base..];
    let rd = |at: usize, n: usize| -> Option<u64> {
        let s = b.get(at..at + n)?;
        Some(s.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64))
    };
    let version = *b.get(8)?;
    let (so, eof_at) = match version {
        0 => (*b.get(13)? as usize, 24 + 2 * *b.get(13)? as usize),
        1 => (*b.get(13)? as usize, 28 + 2 * *b.get(13)? as usize),
        2 | 3 => (*b.get(9)? as usize, 12 + 2 * *b.get(9)? as usize),
        _ => return None,
    };
    if !(so == 4 || so == 8) {
        return None;
    }
    Some(base as u64 + rd(eof_at, so)?)
}

impl H5ad {
    /// Opens `path`; a missing, truncated or non-HDF5 file is an [`Error::H5ad`] naming it.
    /// Files above [`STREAM_ABOVE`] bytes are read on demand.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, None)
    }

    /// Opens `path`, streaming (`Some(true)`), loaded whole (`Some(false)`) or by size (`None`).
    pub fn open_with(path: &Path, streaming: Option<bool>) -> Result<Self> {
        let p = path.display().to_string();
        if !path.exists() {
            return Err(Error::H5ad { path: p, msg: "no such file".into() });
        }
        let mut head = vec![0u8; 4096];
        let n = {
            use std::io::Read;
            let mut fh = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let mut n = 0;
            while n < head.len() {
                match fh.read(&mut head[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) => return Err(Error::io(path, e)),
                }
            }
            n
        };
        head.truncate(n);
        let len = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
        if let Some(eof) = declared_eof(&head) {
            if len < eof {
                return Err(Error::H5ad {
                    path: p,
                    msg: format!("truncated: the file has {len} bytes but its HDF5 superblock declares {eof} (incomplete download or copy?)"),
                });
            }
        }
        // Large files are read on demand instead of being loaded whole, so memory follows what is read.
        let stream = streaming.unwrap_or(len > STREAM_ABOVE);
        let file = guarded(|| if stream { File::open_streaming(path) } else { File::open(path) }.map_err(|e| e.to_string()))
            .map_err(|e| Error::H5ad { path: p.clone(), msg: format!("not a readable HDF5/AnnData file: {e}") })?;
        Ok(H5ad { path: p, file, len })
    }

    /// The file path as given.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// An [`Error::H5ad`] about `field`.
    pub fn err(&self, field: &str, msg: impl std::fmt::Display) -> Error {
        Error::H5ad { path: self.path.clone(), msg: format!("field '{field}': {msg}") }
    }

    /// True when a group exists at `path`.
    pub fn has_group(&self, path: &str) -> bool {
        guarded(|| self.file.group(path).map(|_| ()).map_err(|e| e.to_string())).is_ok()
    }

    /// True when a dataset exists at `path`.
    pub fn has_dataset(&self, path: &str) -> bool {
        guarded(|| self.file.dataset(path).map(|_| ()).map_err(|e| e.to_string())).is_ok()
    }

    /// Names of the groups and datasets directly under group `path`.
    pub fn members(&self, path: &str) -> Result<Vec<String>> {
        guarded(|| {
            let g = self.file.group(path).map_err(|e| e.to_string())?;
            let mut v = g.groups().map_err(|e| e.to_string())?;
            v.extend(g.datasets().map_err(|e| e.to_string())?);
            v.sort();
            Ok(v)
        })
        .map_err(|e| self.err(path, e))
    }

    /// A string attribute of the group or dataset at `path`.
    pub fn attr_str(&self, path: &str, name: &str) -> Option<String> {
        guarded(|| {
            let attrs = match self.file.group(path) {
                Ok(g) => g.attrs(),
                Err(_) => self.file.dataset(path).map_err(|e| e.to_string())?.attrs(),
            }
            .map_err(|e| e.to_string())?;
            attrs.get(name).and_then(attr_string).ok_or_else(|| "absent".to_string())
        })
        .ok()
    }

    /// Shape of the dataset at `path`.
    pub fn shape(&self, path: &str) -> Result<Vec<u64>> {
        guarded(|| self.file.dataset(path).and_then(|d| d.shape()).map_err(|e| e.to_string())).map_err(|e| self.err(path, e))
    }

    fn dtype(&self, path: &str) -> Result<DType> {
        guarded(|| self.file.dataset(path).and_then(|d| d.dtype()).map_err(|e| e.to_string())).map_err(|e| self.err(path, e))
    }

    /// Refuses a dataset whose declared size cannot come from a file this small: `hdf5-pure`
    /// allocates the declared size up front, and a corrupt dimension (one flipped byte) would
    /// otherwise ask for tens of gigabytes and abort the process, which no `catch_unwind` can
    /// contain. Compression (deflate: at most about 1032:1) bounds honest files well inside the limit.
    fn check_declared(&self, path: &str) -> Result<()> {
        let shape = self.shape(path)?;
        let elem: u128 = match self.dtype(path)? {
            DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 | DType::ObjectReference => 8,
            DType::VariableLengthString => 16,
            _ => 1,
        };
        let n = shape.iter().try_fold(1u128, |a, &d| a.checked_mul(d as u128)).unwrap_or(u128::MAX);
        let limit = self.len as u128 * 1100 + (16 << 20);
        if n.saturating_mul(elem) > limit {
            return Err(self.err(path, format!(
                "declares shape {shape:?} ({n} values), more than a file of {} bytes can hold; the file is corrupt", self.len)));
        }
        Ok(())
    }

    /// Reads a numeric dataset as f32.
    pub fn read_f32(&self, path: &str) -> Result<Vec<f32>> {
        self.check_declared(path)?;
        guarded(|| self.file.dataset(path).and_then(|d| d.read_f32()).map_err(|e| e.to_string())).map_err(|e| self.err(path, e))
    }

    /// Reads `n` rows from `start` of a numeric dataset as f32 (clamped to its length).
    pub fn read_f32_window(&self, path: &str, start: u64, n: u64) -> Result<Vec<f32>> {
        let shape = self.shape(path)?;
        let rows = shape.first().copied().unwrap_or(0);
        let (start, n) = (start.min(rows), n.min(rows.saturating_sub(start)));
        guarded(|| self.file.dataset(path).and_then(|d| d.read_f32_rows(start, n)).map_err(|e| e.to_string())).map_err(|e| self.err(path, e))
    }

    /// Reads a numeric dataset as f64.
    pub fn read_f64(&self, path: &str) -> Result<Vec<f64>> {
        self.check_declared(path)?;
        guarded(|| self.file.dataset(path).and_then(|d| d.read_f64()).map_err(|e| e.to_string())).map_err(|e| self.err(path, e))
    }

    /// Reads an integer dataset as i64.
    pub fn read_i64(&self, path: &str) -> Result<Vec<i64>> {
        self.check_declared(path)?;
        guarded(|| self.file.dataset(path).and_then(|d| d.read_i64()).map_err(|e| e.to_string())).map_err(|e| self.err(path, e))
    }

    /// Reads a string dataset (fixed or variable length).
    pub fn read_strings(&self, path: &str) -> Result<Vec<String>> {
        self.check_declared(path)?;
        guarded(|| self.file.dataset(path).and_then(|d| d.read_string()).map_err(|e| e.to_string())).map_err(|e| self.err(path, e))
    }

    /// Reads a 1-D numeric dataset in windows decoded in parallel (chunk decompression is the
    /// bottleneck of large files), each window copied into place as it completes.
    fn read_windows<T: Copy + Default + Send + Sync>(
        &self,
        path: &str,
        read: impl Fn(&hdf5_pure::Dataset, u64, u64) -> std::result::Result<Vec<T>, hdf5_pure::Error> + Sync,
    ) -> Result<Vec<T>> {
        use rayon::prelude::*;
        self.check_declared(path)?;
        let shape = self.shape(path)?;
        if shape.len() != 1 {
            return Err(self.err(path, format!("expected a 1-D array, found shape {shape:?}")));
        }
        let len = shape[0] as usize;
        let chunk = guarded(|| self.file.dataset(path).and_then(|d| d.chunk_shape()).map_err(|e| e.to_string()))
            .map_err(|e| self.err(path, e))?
            .and_then(|c| c.first().copied())
            .unwrap_or(1 << 20)
            .max(1) as usize;
        // Windows of whole chunks, about 4 Mi elements each.
        let win = chunk * (4_194_304 / chunk).max(1);
        let mut out = vec![T::default(); len];
        out.par_chunks_mut(win).enumerate().try_for_each(|(w, dst)| -> Result<()> {
            let start = (w * win) as u64;
            let v = guarded(|| {
                let d = self.file.dataset(path).map_err(|e| e.to_string())?;
                read(&d, start, dst.len() as u64).map_err(|e| e.to_string())
            })
            .map_err(|e| self.err(path, e))?;
            if v.len() != dst.len() {
                return Err(self.err(path, format!("window at {start} returned {} of {} values", v.len(), dst.len())));
            }
            dst.copy_from_slice(&v);
            Ok(())
        })?;
        Ok(out)
    }

    /// Reads `X` (or another matrix element such as `layers/counts`) as CSR.
    pub fn read_matrix(&self, path: &str) -> Result<CsrMatrix> {
        if self.has_group(path) {
            let enc = self.attr_str(path, "encoding-type").unwrap_or_default();
            let shape = self.matrix_shape(path)?;
            let data: Vec<f32> = self.read_windows(&format!("{path}/data"), |d, a, n| d.read_f32_rows(a, n))?;
            // Any integer index type is delivered as u32; a negative or too large value cannot pass
            // the range check below.
            let indices: Vec<u32> = self.read_windows(&format!("{path}/indices"), |d, a, n| d.read_u32_rows(a, n))?;
            let indptr = self.read_i64(&format!("{path}/indptr"))?;
            let (n_major, n_minor) = if enc == "csc_matrix" { (shape.1, shape.0) } else { (shape.0, shape.1) };
            self.check_compressed(path, &data, &indices, &indptr, n_major, n_minor)?;
            let indptr: Vec<u64> = indptr.iter().map(|&v| v as u64).collect();
            let m = CsrMatrix { n_rows: n_major, n_cols: n_minor, indptr, indices, data };
            let m = if enc == "csc_matrix" { transpose(&m) } else { m };
            Ok(sort_rows(m))
        } else if self.has_dataset(path) {
            let shape = self.shape(path)?;
            if shape.len() != 2 {
                return Err(self.err(path, format!("expected a 2-D matrix, found shape {shape:?}")));
            }
            let (r, c) = (shape[0] as usize, shape[1] as usize);
            let dense = self.read_f32(path)?;
            if dense.len() != r * c {
                return Err(self.err(path, format!("holds {} values, shape says {r} x {c}", dense.len())));
            }
            let mut m = CsrMatrix { n_rows: r, n_cols: c, indptr: vec![0], ..Default::default() };
            for row in dense.chunks(c.max(1)).take(r) {
                for (j, &v) in row.iter().enumerate() {
                    if v != 0.0 {
                        m.indices.push(j as u32);
                        m.data.push(v);
                    }
                }
                m.indptr.push(m.data.len() as u64);
            }
            Ok(m)
        } else {
            Err(self.err(path, "missing (an AnnData file needs the expression matrix X)"))
        }
    }

    fn matrix_shape(&self, path: &str) -> Result<(usize, usize)> {
        let attrs = guarded(|| self.file.group(path).and_then(|g| g.attrs()).map_err(|e| e.to_string()))
            .map_err(|e| self.err(path, e))?;
        let v: Vec<i64> = match attrs.get("shape").or_else(|| attrs.get("h5sparse_shape")) {
            Some(AttrValue::I64Array(a)) => a.clone(),
            Some(AttrValue::I32Array(a)) => a.iter().map(|&x| x as i64).collect(),
            Some(AttrValue::U64Array(a)) => a.iter().map(|&x| x as i64).collect(),
            Some(AttrValue::U32Array(a)) => a.iter().map(|&x| x as i64).collect(),
            _ => return Err(self.err(&format!("{path}@shape"), "missing or not an integer pair")),
        };
        if v.len() != 2 || v.iter().any(|&x| x < 0) {
            return Err(self.err(&format!("{path}@shape"), format!("expected two non-negative sizes, found {v:?}")));
        }
        Ok((v[0] as usize, v[1] as usize))
    }

    fn check_compressed(&self, path: &str, data: &[f32], indices: &[u32], indptr: &[i64], n_major: usize, n_minor: usize) -> Result<()> {
        if indptr.len() != n_major + 1 {
            return Err(self.err(&format!("{path}/indptr"), format!("has {} entries, expected {}", indptr.len(), n_major + 1)));
        }
        if data.len() != indices.len() {
            return Err(self.err(&format!("{path}/indices"), format!("has {} entries but data has {}", indices.len(), data.len())));
        }
        if indptr[0] != 0 || indptr.windows(2).any(|w| w[1] < w[0]) || *indptr.last().unwrap() as usize != data.len() {
            return Err(self.err(&format!("{path}/indptr"), "is not a non-decreasing offset array from 0 to nnz"));
        }
        if let Some(bad) = indices.iter().find(|&&j| j as usize >= n_minor) {
            return Err(self.err(&format!("{path}/indices"), format!("index {bad} out of range 0..{n_minor}")));
        }
        Ok(())
    }

    /// Reads the dataframe group `name` (`obs` or `var`).
    pub fn read_frame(&self, name: &str) -> Result<Frame> {
        if !self.has_group(name) {
            return Err(self.err(name, "missing dataframe group"));
        }
        let index_col = self.attr_str(name, "_index").unwrap_or_else(|| "_index".into());
        let index_path = format!("{name}/{index_col}");
        let index = self.read_strings(&index_path)?;
        let mut columns = BTreeMap::new();
        for m in self.members(name)? {
            if m == index_col || m == "__categories" {
                continue;
            }
            let col = self.read_column(name, &m)?;
            if col.len() != index.len() {
                return Err(self.err(&format!("{name}/{m}"), format!("has {} rows, the index has {}", col.len(), index.len())));
            }
            columns.insert(m, col);
        }
        Ok(Frame { index, columns })
    }

    fn read_column(&self, frame: &str, col: &str) -> Result<Column> {
        let p = format!("{frame}/{col}");
        if self.has_group(&p) {
            // anndata >= 0.8 categorical (or nullable) encoding.
            let enc = self.attr_str(&p, "encoding-type").unwrap_or_default();
            return match enc.as_str() {
                "categorical" => {
                    let codes = self.read_i64(&format!("{p}/codes"))?;
                    let cats = self.read_category_labels(&format!("{p}/categories"))?;
                    self.decode_codes(&p, &codes, &cats).map(Column::Str)
                }
                "nullable-integer" | "nullable-boolean" => Ok(Column::Num(self.read_f64(&format!("{p}/values"))?)),
                other => Err(self.err(&p, format!("unsupported column encoding '{other}'"))),
            };
        }
        let old_cats = format!("{frame}/__categories/{col}");
        if self.has_dataset(&old_cats) {
            let codes = self.read_i64(&p)?;
            let cats = self.read_category_labels(&old_cats)?;
            return self.decode_codes(&p, &codes, &cats).map(Column::Str);
        }
        match self.dtype(&p)? {
            DType::String | DType::VariableLengthString => Ok(Column::Str(self.read_strings(&p)?)),
            DType::Enum(_) => Ok(Column::Num(self.read_i64(&p)?.into_iter().map(|v| v as f64).collect())),
            DType::Compound(_) | DType::Array(..) | DType::ObjectReference | DType::Other(_) => {
                Err(self.err(&p, "unsupported column datatype"))
            }
            _ => Ok(Column::Num(self.read_f64(&p)?)),
        }
    }

    fn read_category_labels(&self, path: &str) -> Result<Vec<String>> {
        match self.dtype(path)? {
            DType::String | DType::VariableLengthString => self.read_strings(path),
            _ => Ok(self.read_f64(path)?.iter().map(|v| format!("{v}")).collect()),
        }
    }

    fn decode_codes(&self, path: &str, codes: &[i64], cats: &[String]) -> Result<Vec<String>> {
        codes
            .iter()
            .map(|&c| {
                if c < 0 {
                    Ok(String::new())
                } else {
                    cats.get(c as usize).cloned().ok_or_else(|| {
                        self.err(path, format!("categorical code {c} out of range (only {} categories)", cats.len()))
                    })
                }
            })
            .collect()
    }

    /// Reads an `uns` dict of string arrays (e.g. `uns/rank_genes_groups_cov_all`).
    pub fn read_string_dict(&self, path: &str) -> Result<BTreeMap<String, Vec<String>>> {
        let mut out = BTreeMap::new();
        for k in self.members(path)? {
            out.insert(k.clone(), self.read_strings(&format!("{path}/{k}"))?);
        }
        Ok(out)
    }

    /// Reads an `uns` dict of integer arrays (e.g. `uns/non_zeros_gene_idx`).
    pub fn read_int_dict(&self, path: &str) -> Result<BTreeMap<String, Vec<i64>>> {
        let mut out = BTreeMap::new();
        for k in self.members(path)? {
            out.insert(k.clone(), self.read_i64(&format!("{path}/{k}"))?);
        }
        Ok(out)
    }
}

/// Transposes a CSR matrix (used to turn CSC storage into CSR).
pub fn transpose(m: &CsrMatrix) -> CsrMatrix {
    let mut counts = vec![0u64; m.n_cols + 1];
    for &j in &m.indices {
        counts[j as usize + 1] += 1;
    }
    for i in 0..m.n_cols {
        counts[i + 1] += counts[i];
    }
    let mut next = counts.clone();
    let mut indices = vec![0u32; m.indices.len()];
    let mut data = vec![0f32; m.data.len()];
    for r in 0..m.n_rows {
        let (c, v) = m.row(r);
        for (&j, &x) in c.iter().zip(v) {
            let k = next[j as usize] as usize;
            indices[k] = r as u32;
            data[k] = x;
            next[j as usize] += 1;
        }
    }
    CsrMatrix { n_rows: m.n_cols, n_cols: m.n_rows, indptr: counts, indices, data }
}

fn sort_rows(mut m: CsrMatrix) -> CsrMatrix {
    for r in 0..m.n_rows {
        let (a, b) = (m.indptr[r] as usize, m.indptr[r + 1] as usize);
        if m.indices[a..b].windows(2).all(|w| w[0] < w[1]) {
            continue;
        }
        let mut pairs: Vec<(u32, f32)> = m.indices[a..b].iter().copied().zip(m.data[a..b].iter().copied()).collect();
        pairs.sort_by_key(|p| p.0);
        for (k, (j, v)) in pairs.into_iter().enumerate() {
            m.indices[a + k] = j;
            m.data[a + k] = v;
        }
    }
    m
}
