//! Model and checkpoint files in safetensors format. Parameters and BatchNorm buffers keep the
//! PyTorch GEARS `state_dict` names and shapes; the two propagation operators (normalised) are
//! stored alongside so a model file is self-contained; settings and vocabularies go in the
//! metadata as JSON. A checkpoint adds the optimiser moments, the kept model and the epoch log.
//! Files are written to a temporary name and renamed, so an interrupted write never leaves a
//! half-written file.

use super::adam::{Adam, AdamConfig};
use super::config::GearsConfig;
use super::fit::{EpochLog, TrainState};
use crate::error::{Error, Result};
use crate::gears::net::model::GearsModel;
use crate::gears::net::propagation::Propagation;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// Format tag in the metadata.
pub const FORMAT: &str = "graphreach-gears-1";

/// What a model file describes besides its tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Training settings.
    pub config: GearsConfig,
    /// Dataset name.
    pub dataset: String,
    /// Expression genes (order of the model's gene axis).
    pub genes: Vec<String>,
    /// Perturbation-graph nodes (order of `pert_emb`).
    pub pert_names: Vec<String>,
    /// The GO graph it was trained with.
    pub graph: String,
    /// Training conditions.
    pub train_conditions: Vec<String>,
    /// Validation conditions.
    pub val_conditions: Vec<String>,
    /// 1-based epoch of these weights (0 = untrained).
    pub epoch: usize,
}

#[derive(Serialize, Deserialize)]
struct StateMeta {
    epochs_done: usize,
    best_val: Option<f64>,
    selected_epoch: Option<usize>,
    log: Vec<EpochLog>,
    adam_steps: Vec<u64>,
    adam: (f64, f64, f64, f64, f64),
}

type Entry = (String, Dtype, Vec<usize>, Vec<u8>);

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn u32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn push_model(out: &mut Vec<Entry>, prefix: &str, m: &GearsModel<f32>) {
    let mut m = m.clone();
    let shapes: Vec<Vec<usize>> = {
        let probe = m.clone();
        m.params_mut().iter().map(|(n, p)| probe.torch_shape(n, p)).collect()
    };
    for ((name, p), shape) in m.params_mut().into_iter().zip(shapes) {
        out.push((format!("{prefix}{name}"), Dtype::F32, shape, f32_bytes(&p.data)));
    }
    for (name, b) in m.buffers_mut() {
        out.push((format!("{prefix}{name}"), Dtype::F32, vec![b.len()], f32_bytes(b)));
    }
}

fn push_prop(out: &mut Vec<Entry>, prefix: &str, p: &Propagation) {
    let (s, d, w) = p.entries();
    out.push((format!("{prefix}.src"), Dtype::U32, vec![s.len()], u32_bytes(&s)));
    out.push((format!("{prefix}.dst"), Dtype::U32, vec![d.len()], u32_bytes(&d)));
    out.push((format!("{prefix}.weight"), Dtype::F32, vec![w.len()], f32_bytes(&w)));
}

fn write(path: &Path, entries: Vec<Entry>, meta: HashMap<String, String>) -> Result<()> {
    let views: Vec<(String, TensorView)> = entries
        .iter()
        .map(|(n, dt, shape, bytes)| {
            TensorView::new(*dt, shape.clone(), bytes).map(|v| (n.clone(), v)).map_err(|e| Error::invalid(format!("safetensors: {n}: {e}")))
        })
        .collect::<Result<_>>()?;
    let tmp = path.with_extension("safetensors.tmp");
    safetensors::serialize_to_file(views, Some(meta), &tmp)
        .map_err(|e| Error::invalid(format!("{}: cannot write safetensors: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn bad(path: &Path, msg: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{}: {msg}", path.display()))
}

fn read_f32(st: &SafeTensors, name: &str, len: usize, path: &Path) -> Result<Vec<f32>> {
    let t = st.tensor(name).map_err(|_| bad(path, format!("tensor '{name}' is missing")))?;
    if t.dtype() != Dtype::F32 || t.data().len() != 4 * len {
        return Err(bad(path, format!("tensor '{name}' has dtype {:?} and shape {:?}; expected {len} f32 values", t.dtype(), t.shape())));
    }
    Ok(t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

fn read_u32(st: &SafeTensors, name: &str, path: &Path) -> Result<Vec<u32>> {
    let t = st.tensor(name).map_err(|_| bad(path, format!("tensor '{name}' is missing")))?;
    if t.dtype() != Dtype::U32 {
        return Err(bad(path, format!("tensor '{name}' is not u32")));
    }
    Ok(t.data().chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

fn read_model(st: &SafeTensors, prefix: &str, m: &mut GearsModel<f32>, path: &Path) -> Result<()> {
    for (name, p) in m.params_mut() {
        p.data = read_f32(st, &format!("{prefix}{name}"), p.data.len(), path)?;
    }
    for (name, b) in m.buffers_mut() {
        *b = read_f32(st, &format!("{prefix}{name}"), b.len(), path)?;
    }
    Ok(())
}

fn read_prop(st: &SafeTensors, prefix: &str, n: usize, path: &Path) -> Result<Propagation> {
    let s = read_u32(st, &format!("{prefix}.src"), path)?;
    let d = read_u32(st, &format!("{prefix}.dst"), path)?;
    let w = read_f32(st, &format!("{prefix}.weight"), s.len(), path)?;
    Propagation::from_normalised(n, &s, &d, &w).map_err(|e| bad(path, e))
}

fn meta_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Writes a model file.
pub fn save_model(path: &Path, model: &GearsModel<f32>, coexpr: &Propagation, go: &Propagation, meta: &ModelMeta) -> Result<()> {
    let mut e = Vec::new();
    push_model(&mut e, "", model);
    push_prop(&mut e, "graph.coexpr", coexpr);
    push_prop(&mut e, "graph.go", go);
    let md = HashMap::from([("format".to_string(), FORMAT.to_string()), ("meta".to_string(), meta_json(meta))]);
    write(path, e, md)
}

fn open(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

fn parse_meta(bytes: &[u8], path: &Path) -> Result<HashMap<String, String>> {
    let (_, md) = SafeTensors::read_metadata(bytes).map_err(|e| bad(path, format!("not a safetensors file: {e}")))?;
    let m = md.metadata().clone().unwrap_or_default();
    if m.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(bad(path, format!("not a graphreach GEARS file (metadata 'format' is not {FORMAT})")));
    }
    Ok(m)
}

fn json<T: for<'de> Deserialize<'de>>(m: &HashMap<String, String>, key: &str, path: &Path) -> Result<T> {
    let s = m.get(key).ok_or_else(|| bad(path, format!("metadata '{key}' is missing")))?;
    serde_json::from_str(s).map_err(|e| Error::Json { path: path.display().to_string(), source: e })
}

/// A loaded model file.
#[derive(Clone, Debug)]
pub struct ModelFile {
    /// Weights and buffers.
    pub model: GearsModel<f32>,
    /// Co-expression operator.
    pub coexpr: Propagation,
    /// GO operator.
    pub go: Propagation,
    /// Metadata.
    pub meta: ModelMeta,
}

/// Reads a model file written by [`save_model`].
pub fn load_model(path: &Path) -> Result<ModelFile> {
    let bytes = open(path)?;
    let md = parse_meta(&bytes, path)?;
    let meta: ModelMeta = json(&md, "meta", path)?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(path, e))?;
    let mut model = GearsModel::init(meta.genes.len(), meta.pert_names.len(), meta.config.hidden, 0);
    read_model(&st, "", &mut model, path)?;
    let coexpr = read_prop(&st, "graph.coexpr", meta.genes.len(), path)?;
    let go = read_prop(&st, "graph.go", meta.pert_names.len(), path)?;
    Ok(ModelFile { model, coexpr, go, meta })
}

/// Writes a training checkpoint (current weights, Adam moments, kept model, log).
pub fn save_checkpoint(path: &Path, state: &TrainState, coexpr: &Propagation, go: &Propagation, meta: &ModelMeta) -> Result<()> {
    let mut e = Vec::new();
    push_model(&mut e, "", &state.model);
    push_model(&mut e, "adam.m.", &state.adam.m);
    push_model(&mut e, "adam.v.", &state.adam.v);
    if let Some((m, _)) = &state.selected {
        push_model(&mut e, "selected.", m);
    }
    push_prop(&mut e, "graph.coexpr", coexpr);
    push_prop(&mut e, "graph.go", go);
    let c = state.adam.cfg;
    let sm = StateMeta {
        epochs_done: state.epochs_done,
        best_val: state.best_val,
        selected_epoch: state.selected.as_ref().map(|s| s.1),
        log: state.log.clone(),
        adam_steps: state.adam.steps.clone(),
        adam: (c.weight_decay, c.clip, c.beta1, c.beta2, c.eps),
    };
    let md = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("meta".to_string(), meta_json(meta)),
        ("state".to_string(), meta_json(&sm)),
    ]);
    write(path, e, md)
}

/// Reads a checkpoint written by [`save_checkpoint`]: the state and the model metadata.
pub fn load_checkpoint(path: &Path) -> Result<(TrainState, ModelMeta)> {
    let bytes = open(path)?;
    let md = parse_meta(&bytes, path)?;
    let meta: ModelMeta = json(&md, "meta", path)?;
    let sm: StateMeta = json(&md, "state", path)?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(path, e))?;
    let (g, p, h) = (meta.genes.len(), meta.pert_names.len(), meta.config.hidden);
    let mut model = GearsModel::init(g, p, h, 0);
    read_model(&st, "", &mut model, path)?;
    let (wd, clip, beta1, beta2, eps) = sm.adam;
    let mut adam = Adam::new(&model, AdamConfig { weight_decay: wd, clip, beta1, beta2, eps });
    read_model(&st, "adam.m.", &mut adam.m, path)?;
    read_model(&st, "adam.v.", &mut adam.v, path)?;
    if adam.steps.len() != sm.adam_steps.len() {
        return Err(bad(path, "optimiser step counts do not match the model"));
    }
    adam.steps = sm.adam_steps;
    let selected = match sm.selected_epoch {
        Some(ep) => {
            let mut m = GearsModel::init(g, p, h, 0);
            read_model(&st, "selected.", &mut m, path)?;
            Some((m, ep))
        }
        None => None,
    };
    Ok((TrainState { model, adam, epochs_done: sm.epochs_done, selected, best_val: sm.best_val, log: sm.log }, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gears::fixtures::{toy_context, toy_setup};

    #[test]
    fn model_and_checkpoint_round_trip() {
        let (data, names, go) = toy_setup(20);
        let cfg = GearsConfig { hidden: 8, epochs: 1, ..Default::default() };
        let ctx = toy_context(&data, &names, go, cfg.clone());
        let mut state = ctx.new_state();
        ctx.fit(&mut state, Default::default(), &mut |_| Ok(())).unwrap();
        let dir = std::env::temp_dir().join(format!("graphreach-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let meta = ModelMeta {
            config: cfg,
            dataset: data.name.clone(),
            genes: data.gene_names.clone(),
            pert_names: names.clone(),
            graph: "toy".into(),
            train_conditions: vec![],
            val_conditions: vec![],
            epoch: 1,
        };
        let mp = dir.join("model.safetensors");
        save_model(&mp, &state.model, &ctx.coexpr, &ctx.go, &meta).unwrap();
        let mf = load_model(&mp).unwrap();
        assert_eq!(mf.model, state.model);
        assert_eq!(mf.go, ctx.go);
        assert_eq!(mf.coexpr, ctx.coexpr);
        assert_eq!(mf.meta, meta);
        let cp = dir.join("checkpoint.safetensors");
        save_checkpoint(&cp, &state, &ctx.coexpr, &ctx.go, &meta).unwrap();
        let (s2, _) = load_checkpoint(&cp).unwrap();
        assert_eq!(s2.model, state.model);
        assert_eq!(s2.adam, state.adam);
        assert_eq!(s2.log, state.log);
        assert_eq!(s2.selected.as_ref().map(|s| s.1), Some(1));
        std::fs::write(dir.join("bad.safetensors"), b"nonsense").unwrap();
        assert!(load_model(&dir.join("bad.safetensors")).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }
}
