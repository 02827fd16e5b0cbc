//! The study end to end through the binary (issue 11, item 5): the `quick` preset, a rerun after
//! deleting unit markers, `run` against `plan` + `run-unit` + `report`, locks and dependencies,
//! configuration errors before any training, and `graph perturb`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_graphreach"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn ok(o: &Output) {
    assert!(o.status.success(), "exit {:?}\nstdout: {}\nstderr: {}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("graphreach-study-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// results.tsv without its timing columns (every column whose name ends in `_seconds`).
fn results_without_timing(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("report/results.tsv")).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split('\t').collect();
    assert!(header.iter().any(|h| h.ends_with("_seconds")));
    text.lines()
        .map(|l| l.split('\t').zip(&header).filter(|(_, h)| !h.ends_with("_seconds")).map(|(v, _)| v).collect::<Vec<_>>().join("\t") + "\n")
        .collect()
}

fn plan_ids(dir: &Path) -> Vec<(String, Vec<String>)> {
    std::fs::read_to_string(dir.join("plan.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v["deps"].as_array().unwrap().iter().map(|d| d.as_str().unwrap().to_string()).collect())
        })
        .collect()
}

/// Two safetensors files hold the same tensors and metadata (the header's JSON keys may come in
/// another order: the format's writer serialises a hash map).
fn same_safetensors(a: &[u8], b: &[u8]) -> bool {
    let split = |x: &[u8]| {
        let n = u64::from_le_bytes(x[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&x[8..8 + n]).unwrap();
        (header, x[8 + n..].to_vec())
    };
    split(a) == split(b)
}

fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

/// Relative path -> bytes of every file under `dir`.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn quick_preset_end_to_end_then_a_rerun_redoes_exactly_the_unmarked_units() {
    let d = tmp("quick");
    let ds = d.to_str().unwrap();
    let o = run(&["experiment", "run", "--preset", "quick", "--out", ds, "--jobs", "2"]);
    ok(&o);
    let plan = plan_ids(&d);
    assert_eq!(plan.len(), 72, "6 methods x 2 folds x 2 seeds x 2 cycles + 3 graph methods at noise 0.3");
    let pos: BTreeMap<&str, usize> = plan.iter().enumerate().map(|(i, p)| (p.0.as_str(), i)).collect();
    for (i, (id, deps)) in plan.iter().enumerate() {
        assert!(deps.iter().all(|x| pos[x.as_str()] < i), "{id}: dependencies come first");
        assert!(d.join("units").join(id).join("done.json").exists(), "{id} complete");
    }
    let results = std::fs::read_to_string(d.join("report/results.tsv")).unwrap();
    let mut lines = results.lines();
    assert_eq!(
        lines.next().unwrap(),
        "dataset\tmethod\tfold\tseed\tcycle\tnoise\tn_train\tdays\tmse_de\tmse_top20_de_non_dropout\tpearson_delta\tpearson_delta_de\tno_change_mse_de\tno_change_mse_top20_de_non_dropout\tno_change_pearson_delta\tno_change_pearson_delta_de\tmean_mse_de\tmean_mse_top20_de_non_dropout\tmean_pearson_delta\tmean_pearson_delta_de\tlinear_mse_de\tlinear_mse_top20_de_non_dropout\tlinear_pearson_delta\tlinear_pearson_delta_de\ttrain_seconds"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 72);
    let methods: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[1]).collect();
    assert_eq!(methods.into_iter().collect::<Vec<_>>(), vec!["acs-fw", "graphreach", "hybrid", "maxspec", "random", "typiclust"]);
    for r in &rows {
        assert_eq!(r.len(), 25);
        let cycle: usize = r[4].parse().unwrap();
        assert_eq!(r[6], (3 * cycle).to_string(), "n_train = cycle x batch");
        let one_shot = ["graphreach", "maxspec", "random"].contains(&r[1]);
        assert_eq!(r[7], if one_shot { "30".to_string() } else { (30 * cycle).to_string() }, "days");
        assert!(r[8..24].iter().all(|v| v.parse::<f64>().unwrap().is_finite()));
    }
    // Active learning starts from Random's first batch; hybrid from GraphReach's.
    let sel = |id: &str| std::fs::read_to_string(d.join("units").join(id).join("selection.tsv")).unwrap();
    let first = |t: String| t.lines().skip(1).take(3).map(|l| l.split('\t').nth(1).unwrap().to_string()).collect::<Vec<_>>();
    let rnd = first(sel("quick__papalexi__random__n0.0__f01__s1__c1"));
    assert_eq!(first(sel("quick__papalexi__typiclust__n0.0__f01__s1__c2")), rnd);
    assert_eq!(first(sel("quick__papalexi__acs-fw__n0.0__f01__s1__c2")), rnd);
    assert_eq!(first(sel("quick__papalexi__hybrid__n0.0__f01__s1__c2")), first(sel("quick__papalexi__graphreach__n0.0__f01__s1__c1")));
    let report = std::fs::read_to_string(d.join("report/report.md")).unwrap();
    for needle in ["Table 1: selection stability", "Table 2: test error x 10^3", "Table 3: graph noise", "acs-fw", "hybrid", "linear baseline"] {
        assert!(report.contains(needle), "report.md lacks {needle}");
    }
    for f in ["error_vs_days_papalexi.svg", "error_by_cycle_papalexi.svg", "stability_papalexi.svg", "noise_papalexi.svg"] {
        let svg = std::fs::read_to_string(d.join("report").join(f)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("wet-lab days") | svg.contains("cycle") | svg.contains("Jaccard") | svg.contains("noise"), "{f}");
        assert!(report.contains(&format!("]({f})")), "report.md shows {f}");
    }
    let before = results_without_timing(&d);
    let summary_before = std::fs::read(d.join("report/summary.tsv")).unwrap();

    // Unit A: only its marker goes (as if killed after its training, before the marker): trained
    // again over its kept selection. Unit B: marker, selection and training go (as if killed
    // before its first epoch): selected and trained from scratch.
    let a = d.join("units/quick__papalexi__typiclust__n0.0__f01__s0__c1");
    let b = d.join("units/quick__papalexi__graphreach__n0.3__f02__s1__c2");
    let c = d.join("units/quick__papalexi__acs-fw__n0.0__f02__s1__c2/metrics.json");
    let c_time = mtime(&c);
    std::fs::remove_file(a.join("done.json")).unwrap();
    for f in ["done.json", "metrics.json", "selection.tsv"] {
        std::fs::remove_file(b.join(f)).unwrap();
    }
    std::fs::remove_dir_all(b.join("train")).unwrap();
    let o = run(&["experiment", "run", "--preset", "quick", "--out", ds, "--jobs", "2"]);
    ok(&o);
    assert!(stderr(&o).contains("2 unit(s) run, 70 complete before"), "{}", stderr(&o));
    assert!(a.join("done.json").exists() && b.join("done.json").exists());
    assert_eq!(mtime(&c), c_time, "a complete unit is not touched");
    assert_eq!(results_without_timing(&d), before, "results.tsv is the same apart from train_seconds");
    assert_eq!(std::fs::read(d.join("report/summary.tsv")).unwrap(), summary_before);
    std::fs::remove_dir_all(&d).ok();
}

const SMALL: &str = r#"
name = "small"
methods = ["graphreach", "random", "typiclust"]
[[datasets]]
name = "papalexi"
source = "builtin:papalexi"
max_cells_per_perturbation = 30
max_control_cells = 200
[protocol]
folds = 5
run_folds = [2]
seeds = [0, 1]
cycles = 2
batch = 3
val = 1
[training]
epochs = 1
hidden = 8
"#;

#[test]
fn run_gives_what_plan_plus_run_unit_plus_report_give() {
    let root = tmp("equal");
    std::fs::create_dir_all(&root).unwrap();
    let cfg = root.join("small.toml");
    std::fs::write(&cfg, SMALL).unwrap();
    let (d1, d2) = (root.join("run"), root.join("units"));
    ok(&run(&["experiment", "run", cfg.to_str().unwrap(), "--out", d1.to_str().unwrap(), "--jobs", "2", "-q"]));

    let o = run(&["experiment", "plan", cfg.to_str().unwrap(), "--out", d2.to_str().unwrap(), "--format", "jsonl"]);
    ok(&o);
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert_eq!(stdout, std::fs::read_to_string(d2.join("plan.jsonl")).unwrap());
    let plan_time = mtime(&d2.join("plan.jsonl"));
    // The same plan again changes nothing; another configuration is refused.
    let again = run(&["experiment", "plan", cfg.to_str().unwrap(), "--out", d2.to_str().unwrap(), "--format", "jsonl"]);
    ok(&again);
    assert_eq!(String::from_utf8(again.stdout).unwrap(), stdout);
    assert_eq!(mtime(&d2.join("plan.jsonl")), plan_time);
    let other = root.join("other.toml");
    std::fs::write(&other, SMALL.replace("seeds = [0, 1]", "seeds = [0, 2]")).unwrap();
    let o = run(&["experiment", "plan", other.to_str().unwrap(), "--out", d2.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("different configuration"), "{}", stderr(&o));

    // A unit whose dependency is incomplete refuses; a held lock is exit 75.
    let units: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let dep_unit = units.iter().find(|u| !u["deps"].as_array().unwrap().is_empty()).unwrap();
    let o = run(&["experiment", "run-unit", d2.to_str().unwrap(), dep_unit["id"].as_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("which is not complete"), "{}", stderr(&o));
    let first = units[0]["id"].as_str().unwrap();
    let lock_path = d2.join("units").join(first).join(".lock");
    std::fs::create_dir_all(lock_path.parent().unwrap()).unwrap();
    let held = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).unwrap();
    held.try_lock().unwrap();
    let o = run(&["experiment", "run-unit", d2.to_str().unwrap(), first]);
    assert_eq!(o.status.code(), Some(75), "{}", stderr(&o));
    assert!(stderr(&o).contains("another process"), "{}", stderr(&o));
    drop(held);

    // Every unit in plan order through its own command, with another thread count in the
    // environment: a unit always runs on its configured threads.
    for u in &units {
        let argv: Vec<&str> = u["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        let o = bin().args(&argv[1..]).env("RAYON_NUM_THREADS", "2").output().unwrap();
        ok(&o);
    }
    let o = run(&["experiment", "run-unit", d2.to_str().unwrap(), first]);
    ok(&o);
    assert!(stderr(&o).contains("already complete"));
    ok(&run(&["experiment", "report", d2.to_str().unwrap()]));

    assert_eq!(results_without_timing(&d1), results_without_timing(&d2));
    let (f1, f2) = (files(&d1), files(&d2));
    assert_eq!(f1.keys().collect::<Vec<_>>(), f2.keys().collect::<Vec<_>>(), "the same files");
    for (name, bytes) in &f1 {
        let timing = name.ends_with("metrics.json") || name.ends_with("train_log.tsv") || name.ends_with("results.tsv") || name.ends_with("report.md")
            || name.ends_with(".lock") || name.ends_with("plan.jsonl");
        if name.ends_with(".safetensors") {
            assert!(same_safetensors(bytes, &f2[name]), "{name} differs between run and plan + run-unit");
        } else if !timing {
            assert!(bytes == &f2[name], "{name} differs between run and plan + run-unit");
        }
    }
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn bad_configurations_stop_before_any_training_and_name_the_key() {
    let root = tmp("bad");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("tiny_graph.tsv"), "source\ttarget\timportance\nSTAT1\tSTAT2\t1\nSTAT2\tSTAT1\t1\n").unwrap();
    let cases = [
        ("method", SMALL.replace("\"typiclust\"", "\"typiclust\", \"active\""), "methods[3]"),
        ("fit", SMALL.replace("batch = 3", "batch = 12"), "protocol.batch"),
        ("fraction", SMALL.replace("batch = 3", "batch = 0.5"), "do not fit the pool"),
        ("genes", SMALL.replace("source = \"builtin:papalexi\"", "source = \"builtin:papalexi\"\ngraph = \"tiny_graph.tsv\""), "datasets[0].graph"),
        ("simulated", SMALL.replace("builtin:papalexi", "simulate:adamson"), "datasets[0].name"),
        ("typo", SMALL.replace("cycles = 2", "cycle = 2"), "cycle"),
        ("simkey", SMALL.replace("max_control_cells = 200", "max_control_cells = 200\nsim_controls = 100"), "datasets[0].sim_controls"),
    ];
    for (name, text, key) in cases {
        let cfg = root.join(format!("{name}.toml"));
        std::fs::write(&cfg, text).unwrap();
        let out = root.join(format!("out-{name}"));
        let o = run(&["experiment", "run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap(), "-q"]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(key) && e.contains(cfg.to_str().unwrap()), "{name}: expected {key} in: {e}");
        assert!(!out.join("units").exists() && !out.join("plan.jsonl").exists(), "{name}: nothing was trained or planned");
    }
    // The missing genes are named.
    let e = stderr(&run(&["experiment", "plan", root.join("genes.toml").to_str().unwrap(), "--out", root.join("g").to_str().unwrap()]));
    assert!(e.contains("IRF1") || e.contains("SPI1") || e.contains("perturbation(s) whose genes are not nodes"), "{e}");
    // A folder holding someone else's files is refused.
    let foreign = root.join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let o = run(&["experiment", "plan", "--preset", "quick", "--out", foreign.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("notes.txt"));
    assert_eq!(std::fs::read_to_string(foreign.join("notes.txt")).unwrap(), "mine");
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn presets_are_listed_and_printed() {
    let o = run(&["experiment", "preset"]);
    ok(&o);
    let list = String::from_utf8(o.stdout).unwrap();
    for p in ["quick", "papalexi", "replogle-sim", "adamson-sim"] {
        assert!(list.lines().any(|l| l.starts_with(p)), "{p} listed");
    }
    let o = run(&["experiment", "preset", "adamson-sim"]);
    ok(&o);
    let text = String::from_utf8(o.stdout).unwrap();
    assert_eq!(text, std::fs::read_to_string("experiments/adamson-sim.toml").unwrap());
    assert!(text.contains("synthetic"));
    assert_eq!(run(&["experiment", "preset", "nope"]).status.code(), Some(2));
}

#[test]
fn graph_perturb_writes_the_same_graph_for_the_same_seed() {
    let root = tmp("perturb");
    std::fs::create_dir_all(&root).unwrap();
    let (a, b) = (root.join("a.tsv"), root.join("b.tsv"));
    for p in [&a, &b] {
        let o = run(&["graph", "perturb", "--graph", "builtin:go-k562", "--drop", "0.1", "--add", "0.1", "--seed", "3", "--out", p.to_str().unwrap()]);
        ok(&o);
        assert!(stderr(&o).contains("dropped") && stderr(&o).contains("added"));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let o = run(&["graph", "perturb", "--drop", "0.1", "--add", "0.1", "--out", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "an existing file needs --force");
    let info = |p: &Path| String::from_utf8(run(&["graph", "info", p.to_str().unwrap(), "--format", "json"]).stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(&info(&a)).unwrap();
    let g: serde_json::Value = serde_json::from_str(&String::from_utf8(run(&["graph", "info", "builtin:go-k562", "--format", "json"]).stdout).unwrap()).unwrap();
    assert_eq!(v["edges"], g["edges"], "as many edges added as dropped");
    assert_eq!(v["nodes"], g["nodes"]);
    let o = run(&["graph", "perturb", "--drop", "1.5", "--add", "0", "--out", root.join("c.tsv").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--drop"));
    std::fs::remove_dir_all(&root).ok();
}

#[test]
fn a_unit_killed_mid_training_resumes_to_the_same_result_and_files() {
    let root = tmp("kill");
    std::fs::create_dir_all(&root).unwrap();
    let cfg = root.join("long.toml");
    std::fs::write(&cfg, SMALL.replace("epochs = 1", "epochs = 12").replace("seeds = [0, 1]", "seeds = [0]")).unwrap();
    let (killed, clean) = (root.join("killed"), root.join("clean"));
    for d in [&killed, &clean] {
        ok(&run(&["experiment", "plan", cfg.to_str().unwrap(), "--out", d.to_str().unwrap()]));
    }
    let id = "small__papalexi__random__n0.0__f02__s0__c2";
    ok(&run(&["experiment", "run-unit", clean.to_str().unwrap(), id, "-q"]));

    // Kill (SIGKILL) the unit as soon as its first checkpoint is on disk.
    let ckpt = killed.join("units").join(id).join("train/checkpoint.safetensors");
    let mut child = bin().args(["experiment", "run-unit", killed.to_str().unwrap(), id, "-q"]).spawn().unwrap();
    let t0 = std::time::Instant::now();
    while !ckpt.exists() && child.try_wait().unwrap().is_none() && t0.elapsed().as_secs() < 300 {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let was_running = child.try_wait().unwrap().is_none();
    child.kill().ok();
    child.wait().unwrap();
    if was_running {
        assert!(!killed.join("units").join(id).join("done.json").exists(), "a killed unit has no marker");
        ok(&run(&["experiment", "run-unit", killed.to_str().unwrap(), id, "-q"]));
    }
    assert!(killed.join("units").join(id).join("done.json").exists());
    let strip = |d: &Path| {
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("units").join(id).join("metrics.json")).unwrap()).unwrap();
        for k in ["train_seconds", "epoch_seconds", "train_cpu_seconds", "select_seconds", "embed_seconds"] {
            v.as_object_mut().unwrap().remove(k);
        }
        v
    };
    assert_eq!(strip(&killed), strip(&clean), "the resumed unit's metrics equal an uninterrupted run's");
    let unit_files = |d: &Path| files(&d.join("units").join(id)).into_keys().collect::<Vec<_>>();
    assert_eq!(unit_files(&killed), unit_files(&clean), "a resumed unit leaves the same files");
    assert!(!ckpt.exists(), "the checkpoint is removed before the marker");
    std::fs::remove_dir_all(&root).ok();
}

/// A combinatorial screen (the `norman-sim` preset's source, issue 13): singles and doubles share the
/// pool, a one-shot and an active-learning method select doubles, every unit trains and reports
/// GEARS's per-category metrics.
#[test]
fn a_doubles_study_selects_and_trains_on_doubles() {
    let d = tmp("doubles");
    std::fs::create_dir_all(&d).unwrap();
    let cfg = d.join("doubles.toml");
    std::fs::write(
        &cfg,
        r#"name = "doubles"
methods = ["graphreach", "typiclust"]
[[datasets]]
name = "norman-synthetic"
source = "simulate:norman"
graph = "builtin:go-human"
n_hvg = 200
sim_perturbations = 40
sim_cells_per_perturbation = 15
sim_controls = 150
skip_missing = true
[protocol]
folds = 5
run_folds = [1]
seeds = [0]
cycles = 2
batch = 4
val = 1
graph_noise = [0.0]
[training]
epochs = 1
hidden = 8
batch_size = 32
"#,
    )
    .unwrap();
    let out = d.join("out");
    let o = run(&["experiment", "run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap(), "--jobs", "2"]);
    ok(&o);
    let results = std::fs::read_to_string(out.join("report/results.tsv")).unwrap();
    assert_eq!(results.lines().count(), 1 + 4, "{results}");
    let mut doubles = 0;
    for (id, _) in plan_ids(&out) {
        let unit = out.join("units").join(&id);
        let sel = std::fs::read_to_string(unit.join("selection.tsv")).unwrap();
        doubles += sel.lines().skip(1).filter(|l| l.split('\t').nth(1).is_some_and(|p| p.contains('+'))).count();
        let cats = std::fs::read_to_string(unit.join("train/per_category.tsv")).unwrap();
        assert!(cats.starts_with("category\t") && cats.contains("\tgears\t") && cats.contains("\tmean\t"), "{id}: {cats}");
    }
    assert!(doubles > 0, "no unit selected a double");
    let _ = std::fs::remove_dir_all(&d);
}
