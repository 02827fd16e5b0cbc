//! The embeddings on the toy problem of the trainer tests: the compact cross-gene form against
//! IterPert's `cross_gene_out` written out in full, the mean expression against evaluation, name
//! resolution, the TSV round trip and the errors.

use super::*;
use crate::gears::fixtures::{toy_context, toy_setup};
use crate::gears::net::model::GearsModel;
use crate::gears::train::checkpoint::ModelMeta;
use crate::gears::train::fit::{Hooks, TrainContext};
use crate::gears::{EvalMode, GearsConfig};

/// A model trained for one epoch (so that the running statistics are not the initial ones) as
/// a model file would hold it.
fn trained(ctx: &TrainContext) -> ModelFile {
    let mut state = ctx.new_state();
    ctx.fit(&mut state, Hooks::default(), &mut |_| Ok(())).unwrap();
    let names: Vec<String> = (0..16).map(|i| format!("P{i:02}")).collect();
    let meta = ModelMeta {
        config: ctx.cfg.clone(),
        dataset: ctx.data.name.clone(),
        genes: ctx.data.gene_names.clone(),
        pert_names: names,
        graph: "toy-go".into(),
        train_conditions: vec![],
        val_conditions: vec![],
        epoch: 1,
    };
    ModelFile { model: state.model, coexpr: ctx.coexpr.clone(), go: ctx.go.clone(), meta }
}

fn list(names: &[&str]) -> NameList {
    NameList { source: "perts.txt".into(), names: names.iter().enumerate().map(|(i, n)| (i + 1, n.to_string())).collect() }
}

/// The 12 single perturbations of the toy problem and 8 doubles (20 > one CPU chunk of 16).
fn all_perts(mf: &ModelFile) -> Vec<EmbedPert> {
    let mut names: Vec<String> = (0..12).map(|i| format!("P{i:02}")).collect();
    names.extend((0..8).map(|i| format!("P{:02}+P{:02}", i, (i * 5 + 3) % 12)));
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    resolve_perts(mf, &list(&refs), false, &mut Vec::new()).unwrap()
}

/// IterPert's `cross_gene_out` of row `r`, written out in full: `[u_g, c]` for every gene g.
fn cross_gene_out(parts: &EvalOutput<f32>, r: usize) -> Vec<f64> {
    let c: Vec<f64> = parts.c.row(r).iter().map(|&v| v as f64).collect();
    parts.u.row(r).iter().flat_map(|&u| std::iter::once(u as f64).chain(c.iter().copied())).collect()
}

fn gram(rows: &[Vec<f64>]) -> Vec<f64> {
    rows.iter().flat_map(|a| rows.iter().map(move |b| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>())).collect()
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0f64, |m, &x| m.max(x.abs()))
}

#[test]
fn cross_gene_compact_form_has_the_gram_matrix_of_the_full_cross_gene_out() {
    let (data, names, go) = toy_setup(20);
    let ctx = toy_context(&data, &names, go, GearsConfig { hidden: 8, epochs: 1, ..Default::default() });
    let mf = trained(&ctx);
    let (g, h) = (mf.model.n_genes, mf.model.hidden);
    let perts = all_perts(&mf);
    // One eval-mode forward of all 20 perturbations; the full `cross_gene_out` from it.
    let parts = mf.model.forward_eval_parts(&mf.coexpr, &mf.go, &embed_input(&perts, false));
    let full: Vec<Vec<f64>> = (0..perts.len()).map(|r| cross_gene_out(&parts, r)).collect();
    assert_eq!(full[0].len(), g * (h + 1));
    // It is what GEARS multiplies by indv_w2: (cross_gene_out * w2).sum(-1) + b2 = δ.
    let w2 = &mf.model.indv_w2;
    for (r, row) in full.iter().enumerate() {
        for j in 0..g {
            let d: f64 = (0..=h).map(|k| row[j * (h + 1) + k] * w2.data[j * (h + 1) + k] as f64).sum::<f64>() + mf.model.indv_b2.data[j] as f64;
            let want = parts.delta.data[r * g + j] as f64;
            assert!((d - want).abs() <= 1e-5 * (1.0 + want.abs()), "row {r} gene {j}: {d} vs δ {want}");
        }
    }
    // The compact rows (through the chunked CPU path) have the same Gram matrix.
    let emb = embed_on_cpu(&mf, &perts, EmbedKind::CrossGene, &[]).unwrap();
    assert_eq!((emb.len(), emb.dim), (perts.len(), g + h));
    let compact: Vec<Vec<f64>> = (0..emb.len()).map(|i| emb.row(i).to_vec()).collect();
    let (a, b) = (gram(&compact), gram(&full));
    let diff = a.iter().zip(&b).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
    assert!(diff <= 1e-6 * max_abs(&b), "Gram matrices differ by {diff:.3e} (scale {:.3e})", max_abs(&b));
    // Distances (what k-means and Frank-Wolfe see) follow; the rows are not all alike.
    assert!(max_abs(&b) > 0.0 && (0..perts.len()).any(|i| (b[i * perts.len() + i] - b[1]).abs() > 1e-3 * max_abs(&b)));
}

#[test]
fn chunking_does_not_change_the_embeddings() {
    let (data, names, go) = toy_setup(20);
    let ctx = toy_context(&data, &names, go, GearsConfig { hidden: 8, epochs: 1, ..Default::default() });
    let mf = trained(&ctx);
    let perts = all_perts(&mf);
    let emb = embed_on_cpu(&mf, &perts, EmbedKind::CrossGene, &[]).unwrap();
    for (i, p) in perts.iter().enumerate() {
        let one = mf.model.forward_eval_parts(&mf.coexpr, &mf.go, &embed_input(std::slice::from_ref(p), false));
        let mut row = Vec::new();
        push_rows(&mut row, &one, EmbedKind::CrossGene, &[]);
        let diff = row.iter().zip(emb.row(i)).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
        assert!(diff <= 1e-5 * max_abs(&row), "{}: alone vs in a chunk differ by {diff:.3e}", p.name);
    }
}

#[test]
fn mean_expression_is_delta_plus_the_control_mean_as_evaluation_predicts_it() {
    for pos_quirk in [false, true] {
        let (data, names, go) = toy_setup(20);
        let cfg = GearsConfig { hidden: 8, epochs: 1, pos_quirk, eval_mode: EvalMode::CtrlMean, ..Default::default() };
        let ctx = toy_context(&data, &names, go, cfg);
        let mf = trained(&ctx);
        let conds: Vec<u32> = (1..=12).collect();
        let want = ctx.predict_means(&mf.model, &conds);
        let cond_names: Vec<&str> = conds.iter().map(|&c| data.conditions[c as usize].as_str()).collect();
        let perts = resolve_perts(&mf, &list(&cond_names), false, &mut Vec::new()).unwrap();
        let emb = embed_on_cpu(&mf, &perts, EmbedKind::MeanExpression, &ctx.means.ctrl).unwrap();
        assert_eq!((emb.len(), emb.dim), (12, data.n_genes()));
        for (i, w) in want.iter().enumerate() {
            let diff = w.iter().zip(emb.row(i)).fold(0f64, |m, (x, y)| m.max((x - y).abs()));
            assert!(diff <= 1e-9, "pos_quirk {pos_quirk}: {} differs from evaluation's prediction by {diff:.3e}", emb.names[i]);
        }
        // δ + μ: subtracting the control mean leaves the eval-mode δ.
        let parts = mf.model.forward_eval_parts(&mf.coexpr, &mf.go, &embed_input(&perts[..1], pos_quirk));
        for j in 0..data.n_genes() {
            assert!((emb.row(0)[j] - ctx.means.ctrl[j] - parts.delta.data[j] as f64).abs() <= 1e-9);
        }
        // The quirk model is embedded with the unpropagated co-expression variant: not what the
        // propagated one gives.
        let other = mf.model.forward_eval_parts(&mf.coexpr, &mf.go, &embed_input(&perts[..1], !pos_quirk));
        assert!(other.delta.data.iter().zip(&parts.delta.data).any(|(a, b)| (a - b).abs() > 1e-6));
    }
}

#[test]
fn names_are_resolved_in_list_order_with_ctrl_and_repeats_skipped() {
    let (data, names, go) = toy_setup(20);
    let ctx = toy_context(&data, &names, go, GearsConfig { hidden: 4, epochs: 1, ..Default::default() });
    let mf = trained(&ctx);
    let mut notes = Vec::new();
    let got = resolve_perts(&mf, &list(&["P01+ctrl", "ctrl", "P02+P05", "ctrl+P03", "P05+P02", "P01", "P13"]), false, &mut notes).unwrap();
    let names: Vec<&str> = got.iter().map(|p| p.name.as_str()).collect();
    // P13 is a GO node without cells in the dataset: a model embeds it all the same.
    assert_eq!(names, ["P01", "P02+P05", "P03", "P13"]);
    assert_eq!(got[1].nodes, vec![2, 5]);
    assert!(notes.iter().any(|n| n.contains("'ctrl'")) && notes.iter().any(|n| n.contains("repeated") && n.contains("P05+P02") && n.contains("P01")), "{notes:?}");
    // Genes outside the model's GO graph: an error naming them and their lines, or skipped.
    let l = list(&["P01", "XYZ1+ctrl", "P02+NOPE9"]);
    let e = resolve_perts(&mf, &l, false, &mut Vec::new()).unwrap_err().to_string();
    for needle in ["perts.txt", "2 perturbation(s)", "XYZ1+ctrl (line 2: XYZ1)", "P02+NOPE9 (line 3: NOPE9)", "toy-go", "--skip-missing"] {
        assert!(e.contains(needle), "expected '{needle}' in: {e}");
    }
    assert!(!e.contains("P01"), "{e}");
    let mut notes = Vec::new();
    let got = resolve_perts(&mf, &l, true, &mut notes).unwrap();
    assert_eq!(got.len(), 1);
    assert!(notes.iter().any(|n| n.contains("skipped 2") && n.contains("XYZ1")), "{notes:?}");
    let e = resolve_perts(&mf, &list(&["XYZ1"]), true, &mut Vec::new()).unwrap_err().to_string();
    assert!(e.contains("no perturbation to embed"), "{e}");
}

#[test]
fn the_tsv_round_trips_every_value_exactly() {
    let (data, names, go) = toy_setup(20);
    let ctx = toy_context(&data, &names, go, GearsConfig { hidden: 8, epochs: 1, ..Default::default() });
    let mf = trained(&ctx);
    let perts = all_perts(&mf);
    for (kind, ctrl) in [(EmbedKind::MeanExpression, ctx.means.ctrl.clone()), (EmbedKind::CrossGene, vec![])] {
        let mut emb = embed_on_cpu(&mf, &perts, kind, &ctrl).unwrap();
        // Awkward values too: tiny, huge, negative zero, many digits.
        emb.values[..5].copy_from_slice(&[1e-300, -f64::MAX, -0.0, 0.1 + 0.2, 1.0 / 3.0 * 1e9]);
        let text = emb.to_tsv();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
        assert_eq!(header.len(), emb.dim + 1);
        assert_eq!((header[0], header[1], header[emb.dim]), ("perturbation", "d0", format!("d{}", emb.dim - 1).as_str()));
        let mut back = Vec::new();
        for (i, line) in lines.enumerate() {
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f[0], emb.names[i]);
            back.extend(f[1..].iter().map(|v| v.parse::<f64>().unwrap()));
        }
        assert_eq!(back.len(), emb.values.len());
        assert!(back.iter().zip(&emb.values).all(|(a, b)| a.to_bits() == b.to_bits()), "{kind:?}: values changed through the text");
    }
}

#[test]
fn gene_mismatch_and_a_broken_model_are_clear_errors() {
    let (data, names, go) = toy_setup(20);
    let ctx = toy_context(&data, &names, go, GearsConfig { hidden: 4, epochs: 1, ..Default::default() });
    let mut mf = trained(&ctx);
    let opts = EmbedOptions::new(EmbedKind::MeanExpression);
    let ok = embed(&mf, &data, &list(&["P01", "P02"]), &opts).unwrap();
    assert_eq!(ok.embeddings.names, ["P01", "P02"]);
    assert!(ok.device.starts_with("cpu"), "{}", ok.device);
    let mut other = data.clone();
    other.gene_names[3] = "OTHER".into();
    let e = embed(&mf, &other, &list(&["P01"]), &opts).unwrap_err().to_string();
    assert!(e.contains("differ") && e.contains("gene 4 is gene3 in the model but OTHER"), "{e}");
    mf.model.indv_b2.data[7] = f32::NAN;
    let e = embed(&mf, &data, &list(&["P01", "P02"]), &opts).unwrap_err().to_string();
    assert!(e.contains("P01") && e.contains("non-finite") && e.contains("d7"), "{e}");
    // An untrained model embeds too (its running statistics are the initial ones).
    let fresh = ModelFile { model: GearsModel::init(data.n_genes(), 16, 4, 1), ..mf };
    assert!(embed(&fresh, &data, &list(&["P01"]), &EmbedOptions::new(EmbedKind::CrossGene)).is_ok());
}
