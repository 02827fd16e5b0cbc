//! Issue 15, end to end: the output policy (checked destination, never replacing a device, link or
//! directory, run-folder locks and forced rewrites), results that cannot be right refused with a
//! reason, and clear errors for bad numbers, help texts and library noise. One test per case of
//! the issue (the case number is in the test name); the input-reader cases live with the readers.

use graphreach::gears::fixtures::{toy_dataset, ToySpec};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PAPALEXI: &str = "tests/fixtures/papalexi2021_lowmoi_counts.h5ad";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_graphreach"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("graphreach-hardening-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, no panic, and that stderr mentions every needle.
fn check(o: &Output, code: i32, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(code), "stderr: {e}");
    assert!(!e.contains("panicked"), "panic: {e}");
    for n in needles {
        assert!(e.contains(n), "expected '{n}' in: {e}");
    }
}

/// Sorted relative paths of every entry under `d` (folders end in `/`).
fn tree(d: &Path) -> Vec<String> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            if p.is_dir() {
                out.push(format!("{rel}/"));
                walk(root, &p, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut v = Vec::new();
    walk(d, d, &mut v);
    v.sort();
    v
}

/// A tiny training-ready dataset with `n_perts` single perturbations P00.., a GO graph over them,
/// and train/test lists.
struct Toy {
    dir: PathBuf,
    data: String,
    go: String,
    train: String,
    test: String,
}

fn toy(name: &str, n_perts: usize) -> Toy {
    let dir = tmpdir(name);
    let pert_genes: Vec<String> = (0..n_perts).map(|i| format!("P{i:02}")).collect();
    let data = toy_dataset(&ToySpec { n_genes: 10, pert_genes: pert_genes.clone(), modules: vec![0; n_perts], cells_per_pert: 6, n_ctrl: 20, seed: 3 });
    let d = dir.join("toy.h5ad");
    graphreach::data::store::write_dataset(data, None, &d, false).unwrap();
    let mut go = String::from("source,target,importance\n");
    for i in 0..n_perts {
        go += &format!("{},{},0.5\n", pert_genes[i], pert_genes[(i + 1) % n_perts]);
    }
    std::fs::write(dir.join("go.csv"), go).unwrap();
    let half = n_perts.div_ceil(2);
    std::fs::write(dir.join("train.txt"), pert_genes[..half].join("\n") + "\n").unwrap();
    std::fs::write(dir.join("test.txt"), pert_genes[half..].join("\n") + "\n").unwrap();
    Toy { data: s(&d), go: s(&dir.join("go.csv")), train: s(&dir.join("train.txt")), test: s(&dir.join("test.txt")), dir }
}

impl Toy {
    fn train(&self, out: &Path, extra: &[&str]) -> Output {
        let out = s(out);
        let mut a = vec!["train", "--data", &self.data, "--graph", &self.go, "--train", &self.train, "--test", &self.test, "--out", &out];
        a.extend_from_slice(&["--hidden", "4", "--batch-size", "4", "--backend", "cpu", "--quiet"]);
        a.extend_from_slice(extra);
        run(&a)
    }
}

#[test]
fn case02_devices_links_and_existing_outputs_are_never_replaced() {
    let d = tmpdir("case02");
    let sel = ["select", "--candidates", "builtin:adamson", "--budget", "2", "--backend", "cpu", "--quiet"];
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        for dev in ["/dev/full", "/dev/null"] {
            if !Path::new(dev).exists() {
                continue;
            }
            let mut a = sel.to_vec();
            a.extend(["--out", dev, "--force"]);
            check(&run(&a), 2, &[&format!("cannot write {dev}: it is a device"), "--out -"]);
            assert!(std::fs::metadata(dev).unwrap().file_type().is_char_device(), "{dev} is still a device");
        }
        let target = d.join("real.tsv");
        std::fs::write(&target, "mine\n").unwrap();
        let link = d.join("link.tsv");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut a = sel.to_vec();
        let l = s(&link);
        a.extend(["--out", &l, "--force"]);
        check(&run(&a), 2, &["symbolic link", "real.tsv"]);
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine\n");
    }
    // `-` is stdout.
    let mut a = sel.to_vec();
    a.extend(["--out", "-"]);
    let o = run(&a);
    check(&o, 0, &[]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("rank\tgene"));
    // evaluate --out: an existing file needs --force, checked before anything is read.
    let json = d.join("existing.json");
    std::fs::write(&json, "{}").unwrap();
    let j = s(&json);
    check(&run(&["evaluate", "--model", "no-such-model", "--data", "d.h5ad", "--perts", "p.txt", "--out", &j]), 2, &["existing.json exists", "--force"]);
    assert_eq!(std::fs::read_to_string(&json).unwrap(), "{}");
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn case03_a_second_writer_of_a_run_folder_is_refused_with_the_holder_pid() {
    let t = toy("case03", 4);
    let out = t.dir.join("run");
    std::fs::create_dir_all(&out).unwrap();
    // This test process holds the folder, as a running `train` would.
    let lock = graphreach::files::lock::RunLock::acquire(&out).unwrap();
    check(&t.train(&out, &["--epochs", "1"]), 2, &[&s(&out), "in use by another graphreach run", &format!("pid {}", std::process::id())]);
    check(&t.train(&out, &["--epochs", "1", "--force"]), 2, &["in use"]);
    assert_eq!(tree(&out), vec![".graphreach.lock"], "the refused runs wrote nothing");
    drop(lock);
    check(&t.train(&out, &["--epochs", "1"]), 0, &[]);
    assert!(!out.join(".graphreach.lock").exists(), "the lock is released at the end");
    std::fs::remove_dir_all(&t.dir).ok();
}

#[test]
fn case04_split_refuses_raw_files_and_a_forced_rewrite_leaves_exactly_the_new_split() {
    let d = tmpdir("case04");
    let raw_out = s(&d.join("raw-split"));
    check(&run(&["split", PAPALEXI, "--scheme", "folds", "--out", &raw_out]), 2, &[PAPALEXI, "raw integer counts", "graphreach prepare"]);
    assert!(!d.join("raw-split").exists(), "nothing is written for a refused input");
    let t = toy("case04-toy", 10);
    let out = d.join("S");
    let o = s(&out);
    check(&run(&["split", &t.data, "--scheme", "folds", "--folds", "5", "--out", &o]), 0, &[]);
    std::fs::write(out.join("notes.md"), "my notes").unwrap();
    std::fs::write(out.join("fold_04").join("mine.txt"), "mine").unwrap();
    check(&run(&["split", &t.data, "--scheme", "folds", "--folds", "3", "--out", &o]), 2, &["already holds", "fold_00/test.txt", "--force"]);
    check(&run(&["split", &t.data, "--scheme", "folds", "--folds", "3", "--out", &o, "--force"]), 0, &[]);
    let expected = [
        "fold_00/", "fold_00/test.txt", "fold_00/train.txt", "fold_01/", "fold_01/test.txt", "fold_01/train.txt", "fold_02/",
        "fold_02/test.txt", "fold_02/train.txt", "fold_04/", "fold_04/mine.txt", "notes.md",
    ];
    assert_eq!(tree(&out), expected, "old folds gone, foreign files kept");
    std::fs::remove_dir_all(&d).ok();
    std::fs::remove_dir_all(&t.dir).ok();
}

#[test]
fn case05_zero_epochs_and_resuming_a_finished_run_are_refused() {
    let t = toy("case05", 4);
    let out = t.dir.join("run");
    check(&t.train(&out, &["--epochs", "0"]), 2, &["--epochs 0"]);
    assert!(!out.exists(), "refused before anything is created");
    check(&t.train(&out, &["--epochs", "2"]), 0, &[]);
    let metrics = std::fs::read(out.join("metrics.json")).unwrap();
    let model = std::fs::read(out.join("model.safetensors")).unwrap();
    check(&t.train(&out, &["--epochs", "1", "--resume"]), 2, &["finished 2 epoch(s)", "--epochs 1 leaves nothing to train", "N > 2"]);
    check(&t.train(&out, &["--epochs", "2", "--resume"]), 2, &["leaves nothing to train"]);
    assert_eq!(std::fs::read(out.join("metrics.json")).unwrap(), metrics, "outputs untouched");
    assert_eq!(std::fs::read(out.join("model.safetensors")).unwrap(), model);
    check(&t.train(&out, &["--epochs", "3", "--resume"]), 0, &[]);
    std::fs::remove_dir_all(&t.dir).ok();
}

#[test]
fn case06_unconverged_power_iteration_and_non_finite_models_are_errors() {
    let sel = ["select", "--method", "maxspec", "--candidates", "builtin:adamson", "--budget", "3", "--backend", "cpu", "--quiet"];
    let mut a = sel.to_vec();
    a.extend(["--power-max-iter", "0"]);
    check(&run(&a), 2, &["--power-max-iter 0", "at least 2"]);
    let mut a = sel.to_vec();
    a.extend(["--power-max-iter", "2"]);
    let o = run(&a);
    check(&o, 4, &["did not converge", "--power-max-iter 2", "nor within 20"]);
    assert!(o.stdout.is_empty(), "no selection is printed");
    let mut a = sel.to_vec();
    a.extend(["--power-tol", "0"]);
    check(&run(&a), 2, &["--power-tol 0"]);
    // A model whose weights are NaN: evaluate refuses instead of printing NaN metrics.
    let t = toy("case06", 4);
    let out = t.dir.join("run");
    check(&t.train(&out, &["--epochs", "1"]), 0, &[]);
    let mp = out.join("model.safetensors");
    let mut mf = graphreach::gears::train::checkpoint::load_model(&mp).unwrap();
    for (_, p) in mf.model.params_mut() {
        p.data.iter_mut().for_each(|v| *v = f32::NAN);
    }
    graphreach::gears::train::checkpoint::save_model(&mp, &mf.model, &mf.coexpr, &mf.go, &mf.meta).unwrap();
    let o = run(&["evaluate", "--model", &s(&out), "--data", &t.data, "--perts", &t.test]);
    check(&o, 4, &["non-finite", "P02"]);
    assert!(o.stdout.is_empty(), "no metrics are printed");
    std::fs::remove_dir_all(&t.dir).ok();
}

/// A raw-count AnnData with the given conditions (2 genes X, Y; counts 1..).
fn raw_h5ad(path: &Path, conditions: &[&str]) {
    use hdf5_pure::FileBuilder;
    let n = conditions.len();
    let mut fb = FileBuilder::new();
    let x: Vec<f32> = (0..2 * n).map(|i| (i % 7 + 1) as f32).collect();
    fb.create_dataset("X").with_f32_data(&x).with_shape(&[n as u64, 2]);
    let mut obs = fb.create_group("obs");
    let names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    obs.create_dataset("_index").with_vlen_strings(&refs);
    obs.create_dataset("condition").with_vlen_strings(conditions);
    fb.add_group(obs.finish());
    let mut var = fb.create_group("var");
    var.create_dataset("_index").with_vlen_strings(&["g1", "g2"]);
    var.create_dataset("gene_name").with_vlen_strings(&["X", "Y"]);
    fb.add_group(var.finish());
    fb.write(path).unwrap();
}

#[test]
fn case07_datasets_without_perturbations_and_empty_parts_are_refused() {
    let d = tmpdir("case07");
    let ctrl_only = d.join("ctrl-only.h5ad");
    raw_h5ad(&ctrl_only, &["ctrl"; 6]);
    let out = s(&d.join("p.h5ad"));
    check(&run(&["prepare", &s(&ctrl_only), "--cell-type", "K562", "--out", &out]), 2, &["ctrl-only.h5ad", "every cell is a control cell"]);
    // A graph that holds none of the targets.
    let none = d.join("none.csv");
    std::fs::write(&none, "source,target,importance\nAAA1,BBB2,0.5\n").unwrap();
    check(&run(&["prepare", PAPALEXI, "--cell-type", "THP-1", "--graph", &s(&none), "--out", &out]), 2, &["none of the 25 perturbation condition(s)", "none.csv"]);
    check(&run(&["prepare", PAPALEXI, "--cell-type", "THP-1", "--n-hvg", "0", "--out", &out]), 2, &["--n-hvg 0"]);
    assert!(!d.join("p.h5ad").exists());
    // A split that would leave a part empty.
    let t = toy("case07-toy", 2);
    let parts = s(&d.join("parts"));
    check(&run(&["split", &t.data, "--scheme", "simulation", "--out", &parts]), 2, &["on 2 perturbation(s)", "empty", "--scheme folds"]);
    check(&run(&["split", &t.data, "--scheme", "folds", "--folds", "2", "--out", &parts]), 0, &[]);
    std::fs::remove_dir_all(&d).ok();
    std::fs::remove_dir_all(&t.dir).ok();
}

#[test]
fn case08_random_picks_are_not_said_to_follow_the_tie_break_rule() {
    let o = run(&["select", "--method", "random", "--candidates", "builtin:adamson", "--budget", "86", "--backend", "cpu"]);
    check(&o, 0, &["random pick(s) covered no new node"]);
    assert!(!stderr(&o).contains("tie-break"), "{}", stderr(&o));
    // The greedy note is still there where it is true.
    let o = run(&["select", "--candidates", "builtin:adamson", "--budget", "86", "--backend", "cpu"]);
    check(&o, 0, &["coverage saturated at pick", "tie-break rule"]);
}

#[test]
fn case13_unusable_destinations_are_named_before_the_work_with_the_right_verb() {
    let d = tmpdir("case13");
    let file = d.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let f = s(&file);
    // A directory where a file is expected; the missing --gene2go is never read: the output is checked first.
    let dir = s(&d);
    check(&run(&["graph", "build", "--gene2go", "missing.tsv", "--out", &dir]), 2, &[&format!("cannot write {dir}: it is a directory")]);
    // A file where a directory is expected.
    let t = toy("case13-toy", 4);
    check(&t.train(&file, &["--epochs", "1"]), 2, &[&format!("cannot write {f}: it is a file, not a folder")]);
    check(&run(&["split", &t.data, "--scheme", "folds", "--folds", "2", "--out", &f]), 2, &[&format!("cannot write {f}: it is a file, not a folder")]);
    let under = s(&file.join("x.tsv"));
    check(&run(&["select", "--candidates", "builtin:adamson", "--budget", "2", "--out", &under]), 2, &[&format!("cannot write {under}: {f} is not a directory")]);
    #[cfg(target_os = "linux")]
    {
        // An unwritable folder (also for root): named with "cannot write" and the user's path.
        let o = run(&["select", "--candidates", "builtin:adamson", "--budget", "2", "--out", "/proc/graphreach.tsv"]);
        check(&o, 2, &["cannot write /proc/graphreach.tsv: /proc is not writable"]);
        assert!(!stderr(&o).contains("tmp-graphreach") && !stderr(&o).contains("cannot read"));
    }
    std::fs::remove_dir_all(&d).ok();
    std::fs::remove_dir_all(&t.dir).ok();
}

#[test]
fn case14_bad_numbers_name_the_flag_and_benchmarks_of_nothing_fail() {
    check(&run(&["select", "--budget", "-3"]), 2, &["'-3'", "--budget", "negative"]);
    check(&run(&["train", "--data", "d", "--train", "t", "--test", "t", "--out", "o", "--epochs", "-1"]), 2, &["--epochs", "negative"]);
    check(&run(&["select", "--budget", "2.5"]), 2, &["--budget", "not a whole number"]);
    let d = tmpdir("case14");
    let w = d.join("w.tsv");
    std::fs::write(&w, "gene\tweight\nAARS1\t1\n").unwrap();
    check(&run(&["select", "--candidates", "builtin:adamson", "--weights", &s(&w), "--default-weight=-1"]), 2, &["--default-weight -1"]);
    let g = d.join("g.tsv");
    std::fs::write(&g, "0\t1\n1\t2\n2\t3\n").unwrap();
    let gs = s(&g);
    check(&run(&["bench", "--graph", &gs, "--budget", "0", "--backends", "cpu"]), 2, &["--budget 0"]);
    let o = run(&["bench", "--graph", &gs, "--budget", "1", "--backends", "cpu", "--repeats", "1"]);
    check(&o, 0, &[]);
    // A named backend that is not there is an error (exit 3), not a skipped row with exit 0.
    let probe = String::from_utf8_lossy(&run(&["backends"]).stdout).into_owned();
    for backend in ["cuda", "wgpu"] {
        let available = probe.lines().any(|l| l.starts_with(&format!("{backend}\tyes")));
        if !available {
            check(&run(&["bench", "--graph", &gs, "--budget", "1", "--backends", backend, "--repeats", "1"]), 3, &[&format!("{backend} backend")]);
        }
    }
    std::fs::remove_dir_all(&d).ok();
}

#[test]
fn case15_backend_probing_prints_no_library_noise_without_xdg_runtime_dir() {
    for env in [None, Some("relative/dir")] {
        let mut c = bin();
        c.arg("backends");
        match env {
            None => c.env_remove("XDG_RUNTIME_DIR"),
            Some(v) => c.env("XDG_RUNTIME_DIR", v),
        };
        let o = c.output().unwrap();
        check(&o, 0, &[]);
        let e = stderr(&o);
        assert!(!e.contains("XDG_RUNTIME_DIR") && !e.contains("error"), "noise on stderr: {e}");
    }
}

#[test]
fn case16_help_texts_point_to_real_files_and_describe_their_own_flags() {
    let o = run(&["graph", "gen", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("docs/hub-sbm.md"), "{help}");
    let spec = std::fs::read_to_string("docs/hub-sbm.md").expect("docs/hub-sbm.md is in the repository");
    assert!(spec.contains("Provenance") && spec.contains("a_go_like"));
    let o = run(&["stability", "--help"]);
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("mean_jaccard") && !help.contains("rank gene node_id"), "{help}");
}
