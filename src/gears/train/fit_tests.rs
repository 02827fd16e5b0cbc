//! End-to-end training checks on a small seeded dataset with a planted effect.

use super::Hooks;
use crate::gears::dataset::conditions::condition_nodes;
use crate::gears::eval::report::build_report;
use crate::gears::fixtures::{toy_context, toy_setup};
use crate::gears::GearsConfig;

#[test]
fn training_beats_the_no_change_baseline_on_held_out_perturbations() {
    let (data, names, go) = toy_setup(80);
    let cfg = GearsConfig { hidden: 16, epochs: 6, ..Default::default() };
    let ctx = toy_context(&data, &names, go, cfg);
    let mut state = ctx.new_state();
    let mut epochs = 0;
    ctx.fit(&mut state, Hooks::default(), &mut |_| {
        epochs += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(epochs, 6);
    let first = state.log[0].train_loss;
    let last = state.log.last().unwrap().train_loss;
    assert!(last < first, "training loss did not decrease: {first} -> {last}");
    let test: Vec<u32> = vec![4, 8, 12];
    let (model, _) = state.selected.as_ref().unwrap();
    let r = build_report(&ctx, model, &test);
    eprintln!("{}", r.summary_text());
    assert_eq!(r.model.n_perturbations, 3);
    assert!(r.model.mse_de < r.baselines.no_change.mse_de, "GEARS {} vs no-change {}", r.model.mse_de, r.baselines.no_change.mse_de);
}

#[test]
fn resuming_from_a_checkpoint_reproduces_an_uninterrupted_run() {
    use crate::gears::train::checkpoint::{load_checkpoint, save_checkpoint, ModelMeta};
    let (data, names, go) = toy_setup(20);
    let cfg2 = GearsConfig { hidden: 8, epochs: 2, ..Default::default() };
    let ctx2 = toy_context(&data, &names, go.clone(), cfg2.clone());
    let mut straight = ctx2.new_state();
    ctx2.fit(&mut straight, Hooks::default(), &mut |_| Ok(())).unwrap();
    let ctx1 = toy_context(&data, &names, go, GearsConfig { epochs: 1, ..cfg2.clone() });
    let mut first = ctx1.new_state();
    ctx1.fit(&mut first, Hooks::default(), &mut |_| Ok(())).unwrap();
    let path = std::env::temp_dir().join(format!("graphreach-resume-{}.safetensors", std::process::id()));
    let meta = ModelMeta {
        config: cfg2,
        dataset: data.name.clone(),
        genes: data.gene_names.clone(),
        pert_names: names.clone(),
        graph: "toy".into(),
        train_conditions: vec![],
        val_conditions: vec![],
        epoch: 1,
    };
    save_checkpoint(&path, &first, &ctx1.coexpr, &ctx1.go, &meta).unwrap();
    let (mut resumed, _) = load_checkpoint(&path).unwrap();
    std::fs::remove_file(&path).ok();
    ctx2.fit(&mut resumed, Hooks::default(), &mut |_| Ok(())).unwrap();
    assert_eq!(resumed.epochs_done, 2);
    assert_eq!(resumed.model, straight.model);
    assert_eq!(resumed.log.len(), 2);
}

#[test]
fn interrupt_stops_training_without_finishing_the_epoch() {
    let (data, names, go) = toy_setup(20);
    let ctx = toy_context(&data, &names, go, GearsConfig { hidden: 8, epochs: 3, ..Default::default() });
    let mut state = ctx.new_state();
    let stop = std::sync::atomic::AtomicBool::new(true);
    let err = ctx.fit(&mut state, Hooks { interrupt: Some(&stop), progress: false }, &mut |_| Ok(())).unwrap_err();
    assert!(matches!(err, crate::error::Error::Interrupted(_)));
    assert_eq!(state.epochs_done, 0);
}

#[test]
fn perturbed_genes_missing_from_the_go_graph_are_named() {
    let (data, _, _) = toy_setup(5);
    let vocab: Vec<String> = vec!["P00".into(), "P01".into()];
    let err = condition_nodes(&data, &[1, 2, 3], &vocab, "builtin:go-k562").unwrap_err().to_string();
    assert!(err.contains("P02") && err.contains("builtin:go-human") && !err.contains("P01,"), "{err}");
}

#[test]
fn positional_quirk_groups_the_first_cell_apart() {
    let (data, names, go) = toy_setup(5);
    let ctx = toy_context(&data, &names, go, GearsConfig { pos_quirk: true, ..Default::default() });
    // Cells 150.. are condition 1 (5 cells each).
    let (inp, cg) = ctx.batch_input(&[150, 151, 152, 0]);
    assert_eq!(inp.variants.len(), 2);
    assert_eq!(cg, vec![0, 1, 1, 2]);
    assert!(inp.variants[0].propagate && !inp.variants[1].propagate && inp.variants[1].weight == 3.0);
    assert_eq!(inp.groups[1].weight, 2.0);
}
