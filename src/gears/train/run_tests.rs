//! The training run as a library call: inputs in memory or in files, outcome and files, the
//! checkpoint rule (refuse, resume, overwrite), and evaluation of the written model.

use super::*;
use crate::gears::eval::run::{run_evaluation, EvalRun};
use crate::gears::fixtures::{toy_dataset, ToySpec};

fn names(source: &str, list: &[&str]) -> PertList {
    PertList::Names(NameList { source: source.into(), names: list.iter().enumerate().map(|(i, n)| (i + 1, n.to_string())).collect() })
}

#[test]
fn a_run_trains_resumes_and_writes_what_evaluation_reads() {
    let dir = std::env::temp_dir().join(format!("graphreach-train-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pert_genes: Vec<String> = (0..6).map(|i| format!("P{i:02}")).collect();
    let data = toy_dataset(&ToySpec { n_genes: 12, pert_genes, modules: vec![0, 0, 0, 1, 1, 1], cells_per_pert: 8, n_ctrl: 30, seed: 4 });
    let data_path = dir.join("toy.h5ad");
    crate::data::store::write_dataset(data.clone(), None, &data_path, false).unwrap();
    let go = dir.join("go.csv");
    std::fs::write(&go, "source,target,importance\nP00,P01,0.5\nP01,P02,0.5\nP02,P00,0.5\nP03,P04,0.5\nP04,P05,0.5\nP05,P03,0.5\n").unwrap();
    let test_file = dir.join("test.txt");
    std::fs::write(&test_file, "P02\nP05+ctrl\n").unwrap();
    let mut run = TrainRun::new(
        data_path.clone(),
        go.display().to_string(),
        names("train list", &["P00", "P01", "P03", "P04"]),
        PertList::File(test_file.display().to_string()),
        dir.join("run"),
    );
    run.config = GearsConfig { hidden: 4, epochs: 1, batch_size: 4, ..Default::default() };
    run.backend = BackendChoice::Cpu;
    let first = run_training(&run, Hooks::default()).unwrap();
    assert_eq!((first.epochs_run, first.epochs_done, first.kept_epoch), (1, 1, 1));
    assert_eq!(first.report.model.n_perturbations, 2);
    assert!(first.notes.iter().any(|n| n.contains("no --val set")), "{:?}", first.notes);
    for f in [&first.files.model, &first.files.checkpoint, &first.files.train_log, &first.files.metrics, &first.files.per_perturbation, &first.files.config] {
        assert!(f.is_file(), "{} written", f.display());
    }
    let written: Report = serde_json::from_str(&std::fs::read_to_string(&first.files.metrics).unwrap()).unwrap();
    assert_eq!(written, first.report);
    // The checkpoint is not silently replaced.
    let err = run_training(&run, Hooks::default()).unwrap_err().to_string();
    assert!(err.contains("--resume") && err.contains("--force"), "{err}");
    // Resuming with more epochs trains only the missing ones; the data can come in memory.
    run.existing = Existing::Resume;
    run.config.epochs = 2;
    let graph = crate::graph::io::load_graph(&run.graph).unwrap();
    let second = run_training_with(&run, &data, &graph, Hooks::default()).unwrap();
    assert_eq!((second.epochs_run, second.epochs_done, second.log.len()), (1, 2, 2));
    assert!(second.notes.iter().any(|n| n.contains("resuming after epoch 1 of 2")), "{:?}", second.notes);
    // What evaluation reads back is what the run reported.
    let eval = EvalRun { model: run.out.clone(), data: data_path, perts: run.test.clone(), eval_mode: None, skip_missing: false, categories: None };
    assert_eq!(run_evaluation(&eval, false).unwrap().report, second.report);
    // Resuming with other settings is refused; overwriting starts again from epoch 0.
    run.config.hidden = 8;
    assert!(run_training(&run, Hooks::default()).unwrap_err().to_string().contains("--hidden"));
    run.existing = Existing::Overwrite;
    let third = run_training(&run, Hooks::default()).unwrap();
    assert_eq!((third.epochs_run, third.epochs_done), (2, 2));
    std::fs::remove_dir_all(&dir).ok();
}
