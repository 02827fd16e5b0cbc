//! Writing AnnData `.h5ad` files (anndata >= 0.8 on-disk encoding) with `hdf5-pure`: CSR `X`,
//! `obs`/`var` dataframes with string, categorical and integer columns, and `uns` dicts of arrays.
//! The output is deterministic: the same inputs give byte-identical files.

use super::dataset::CsrMatrix;
use crate::error::{Error, Result};
use hdf5_pure::{AttrValue, FileBuilder, GroupBuilder};
use std::path::Path;

/// A dataframe column to write.
pub enum OutCol<'a> {
    /// A categorical column (codes + sorted unique categories).
    Cat(&'a [String]),
    /// A plain string column.
    Str(&'a [String]),
    /// An integer column.
    Int(Vec<i64>),
}

/// A value under `uns`.
pub enum UnsVal {
    /// A string array.
    Strs(Vec<String>),
    /// An integer array.
    Ints(Vec<i64>),
    /// A nested dict.
    Dict(Vec<(String, UnsVal)>),
}

/// Everything written to an `.h5ad`.
pub struct AnnDataOut<'a> {
    /// Cells x genes matrix (owned: each array is freed once the writer has copied it).
    pub x: CsrMatrix,
    /// Cell names.
    pub obs_index: &'a [String],
    /// `obs` columns in order.
    pub obs: Vec<(&'a str, OutCol<'a>)>,
    /// Gene ids.
    pub var_index: &'a [String],
    /// `var` columns in order.
    pub var: Vec<(&'a str, OutCol<'a>)>,
    /// `uns` entries in order.
    pub uns: Vec<(String, UnsVal)>,
}

fn vs(s: &str) -> AttrValue {
    AttrValue::VarLenString(s.to_string())
}

fn enc(g: &mut GroupBuilder, kind: &str, version: &str) {
    g.set_attr("encoding-type", vs(kind));
    g.set_attr("encoding-version", vs(version));
}

fn strings(g: &mut GroupBuilder, name: &str, v: &[String]) {
    let refs: Vec<&str> = v.iter().map(String::as_str).collect();
    g.create_dataset(name)
        .with_vlen_strings(&refs)
        .set_attr("encoding-type", vs("string-array"))
        .set_attr("encoding-version", vs("0.2.0"));
}

fn ints(g: &mut GroupBuilder, name: &str, v: &[i64]) {
    g.create_dataset(name)
        .with_i64_data(v)
        .set_attr("encoding-type", vs("array"))
        .set_attr("encoding-version", vs("0.2.0"));
}

fn frame(fb: &mut FileBuilder, name: &str, index: &[String], cols: &[(&str, OutCol)]) {
    let mut g = fb.create_group(name);
    enc(&mut g, "dataframe", "0.2.0");
    g.set_attr("_index", vs("_index"));
    if cols.is_empty() {
        g.set_attr("column-order", AttrValue::F64Array(Vec::new()));
    } else {
        g.set_attr("column-order", AttrValue::VarLenStringArray(cols.iter().map(|c| c.0.to_string()).collect()));
    }
    strings(&mut g, "_index", index);
    for (cname, col) in cols {
        match col {
            OutCol::Str(v) => strings(&mut g, cname, v),
            OutCol::Int(v) => ints(&mut g, cname, v),
            OutCol::Cat(v) => {
                let mut cats: Vec<String> = v.to_vec();
                cats.sort();
                cats.dedup();
                let codes: Vec<i32> = v.iter().map(|s| cats.binary_search(s).map(|i| i as i32).unwrap_or(-1)).collect();
                let mut c = g.create_group(cname);
                enc(&mut c, "categorical", "0.2.0");
                c.set_attr("ordered", AttrValue::U8(0));
                c.create_dataset("codes")
                    .with_i32_data(&codes)
                    .set_attr("encoding-type", vs("array"))
                    .set_attr("encoding-version", vs("0.2.0"));
                strings(&mut c, "categories", &cats);
                g.add_group(c.finish());
            }
        }
    }
    fb.add_group(g.finish());
}

fn uns_group(g: &mut GroupBuilder, name: &str, entries: &[(String, UnsVal)]) {
    let mut d = g.create_group(name);
    enc(&mut d, "dict", "0.1.0");
    for (k, v) in entries {
        match v {
            UnsVal::Strs(s) => strings(&mut d, k, s),
            UnsVal::Ints(i) => ints(&mut d, k, i),
            UnsVal::Dict(e) => uns_group(&mut d, k, e),
        }
    }
    g.add_group(d.finish());
}

/// Chunk length of compressed arrays. libhdf5 (h5py, anndata) rejects the chunk-dimension encoding
/// hdf5-pure 0.47 writes for chunks of 65,536+ elements; 16,384 reads back everywhere.
const CHUNK: u64 = 16_384;

fn big(ds: &mut hdf5_pure::DatasetBuilder, len: usize, deflate: bool) -> &mut hdf5_pure::DatasetBuilder {
    if deflate && len > 0 {
        ds.with_chunks(&[CHUNK.min(len as u64)]).with_shuffle().with_deflate(1);
    }
    ds
}

/// Writes `out` to `path` under the [output policy](crate::files::output) (`-` is stdout; an existing
/// regular file is replaced, so callers check `--force` before the work; a directory, device or link
/// is refused). `deflate` compresses `X` (shuffle + deflate level 1, 16,384-element chunks).
pub fn write_anndata(out: AnnDataOut, path: &Path, deflate: bool) -> Result<()> {
    let CsrMatrix { n_rows, n_cols, indptr, indices, data } = out.x;
    if n_rows != out.obs_index.len() || n_cols != out.var_index.len() {
        return Err(Error::invalid(format!("internal: X is {n_rows}x{n_cols} but obs/var have {}/{} rows", out.obs_index.len(), out.var_index.len())));
    }
    let mut fb = FileBuilder::new();
    fb.set_attr("encoding-type", vs("anndata"));
    fb.set_attr("encoding-version", vs("0.1.0"));
    {
        let mut g = fb.create_group("X");
        enc(&mut g, "csr_matrix", "0.1.0");
        g.set_attr("shape", AttrValue::I64Array(vec![n_rows as i64, n_cols as i64]));
        big(g.create_dataset("data").with_f32_data(&data), data.len(), deflate);
        drop(data);
        big(g.create_dataset("indices").with_u32_data(&indices), indices.len(), deflate);
        drop(indices);
        let ptr: Vec<i64> = indptr.iter().map(|&v| v as i64).collect();
        g.create_dataset("indptr").with_i64_data(&ptr);
        fb.add_group(g.finish());
    }
    frame(&mut fb, "obs", out.obs_index, &out.obs);
    frame(&mut fb, "var", out.var_index, &out.var);
    for empty in ["layers", "obsm", "obsp", "varm", "varp"] {
        let mut g = fb.create_group(empty);
        enc(&mut g, "dict", "0.1.0");
        fb.add_group(g.finish());
    }
    {
        let mut root = fb.create_group("uns");
        enc(&mut root, "dict", "0.1.0");
        for (k, v) in &out.uns {
            match v {
                UnsVal::Strs(s) => strings(&mut root, k, s),
                UnsVal::Ints(i) => ints(&mut root, k, i),
                UnsVal::Dict(e) => uns_group(&mut root, k, e),
            }
        }
        fb.add_group(root.finish());
    }
    crate::files::output::write_file_with(path, true, |w| {
        fb.finish_to(w).map_err(|e| match e {
            hdf5_pure::Error::Io(io) => io,
            other => std::io::Error::other(format!("HDF5 encoding failed: {other}")),
        })
    })
}
