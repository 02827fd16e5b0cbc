//! The Perturb-seq data layer end to end on the real Papalexi 2021 file (tests/fixtures) and on a
//! small simulated dataset: reading, bad input, prepare, the GEARS-compatible output, load, splits.

use graphreach::data::{h5ad::H5ad, prepare, raw, simulate, split, store};
use graphreach::error::Error;
use std::path::{Path, PathBuf};

const PAPALEXI: &str = "tests/fixtures/papalexi2021_lowmoi_counts.h5ad";

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("graphreach-data-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn prepared_papalexi(seed: u64) -> graphreach::data::Dataset {
    let data = raw::read_raw(Path::new(PAPALEXI), Some("THP-1")).unwrap();
    prepare::validate_conditions(&data, PAPALEXI).unwrap();
    let cfg = prepare::PrepareConfig { n_hvg: 100, seed, name: "papalexi".into() };
    prepare::prepare(data, &cfg, false).unwrap().0
}

#[test]
fn reads_the_real_papalexi_file_and_drops_unassigned_cells() {
    let f = H5ad::open(Path::new(PAPALEXI)).unwrap();
    let x = f.read_matrix("X").unwrap();
    assert_eq!((x.n_rows, x.n_cols, x.data.len()), (20_729, 299, 1_390_126));
    let streamed = H5ad::open_with(Path::new(PAPALEXI), Some(true)).unwrap();
    assert_eq!(streamed.read_matrix("X").unwrap(), x);
    assert_eq!(streamed.read_frame("obs").unwrap(), f.read_frame("obs").unwrap());
    let data = raw::read_raw(Path::new(PAPALEXI), Some("THP-1")).unwrap();
    assert_eq!(data.dropped_unassigned, 4_537);
    assert_eq!(data.counts.n_rows, 16_192);
    assert_eq!(data.condition.iter().filter(|c| *c == "ctrl").count(), 1_923);
    let mut conds = data.condition.clone();
    conds.sort();
    conds.dedup();
    // 25 targets have assigned cells (no cell is assigned to CD274 guides) + ctrl.
    assert_eq!(conds.len(), 26);
    assert_eq!(data.condition.iter().filter(|c| *c == "SPI1+ctrl").count(), 33);
    assert!(data.gene_names.iter().any(|g| g == "STAT1"));
    assert!(!data.synthetic);
}

#[test]
fn missing_columns_and_corrupt_files_are_clear_errors() {
    let e = raw::read_raw(Path::new(PAPALEXI), None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains(PAPALEXI) && e.contains("obs/cell_type"), "{e}");
    let bytes = std::fs::read(PAPALEXI).unwrap();
    for cut in [100usize, 4096, bytes.len() / 2, bytes.len() - 1000] {
        let p = tmp(&format!("truncated-{cut}.h5ad"));
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let e = match raw::read_raw(&p, Some("THP-1")) {
            Ok(_) => panic!("a file truncated at {cut} bytes was accepted"),
            Err(e) => e,
        };
        assert!(matches!(e, Error::H5ad { .. }), "{e}");
        assert!(e.to_string().contains(&p.display().to_string()));
    }
    let p = tmp("not-hdf5.h5ad");
    std::fs::write(&p, b"condition\nctrl\n").unwrap();
    assert!(raw::read_raw(&p, None).err().map(|e| e.to_string()).unwrap_or_default().contains("not a readable HDF5"));
    // A log-normalised file is not raw counts.
    let ds = prepared_papalexi(0);
    let out = tmp("prepared-for-raw-check.h5ad");
    store::write_dataset(ds, None, &out, false).unwrap();
    let e = raw::read_raw(&out, None).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.contains("field 'X'") && e.contains("raw non-negative integer counts"), "{e}");
}

#[test]
fn condition_validation_rejects_bad_designs() {
    let base = raw::read_raw(Path::new(PAPALEXI), Some("THP-1")).unwrap();
    let mut no_ctrl = base.clone();
    no_ctrl.condition.iter_mut().filter(|c| *c == "ctrl").for_each(|c| *c = "STAT1+ctrl".into());
    let e = prepare::validate_conditions(&no_ctrl, "f.h5ad").unwrap_err().to_string();
    assert!(e.contains("no control cells") && e.contains("obs/condition"), "{e}");
    let mut one = base.clone();
    one.condition[0] = "STAT1+IRF1".into();
    let e = prepare::validate_conditions(&one, "f.h5ad").unwrap_err().to_string();
    assert!(e.contains("fewer than 2 cells") && e.contains("STAT1+IRF1 (1)"), "{e}");
    let mut unknown = base.clone();
    unknown.condition[0] = "NOTAGENE1+ctrl".into();
    unknown.condition[1] = "NOTAGENE1+ctrl".into();
    let e = prepare::validate_conditions(&unknown, "f.h5ad").unwrap_err().to_string();
    assert!(e.contains("NOTAGENE1") && e.contains("known human gene"), "{e}");
}

#[test]
fn prepare_matches_an_independent_welch_computation() {
    let ds = prepared_papalexi(3);
    assert_eq!(ds.conditions[0], "ctrl");
    assert_eq!(ds.n_cells(), 16_192);
    // 100 HVGs plus the measured perturbed genes not among them.
    assert!(ds.n_genes() >= 100 && ds.n_genes() <= 126, "{}", ds.n_genes());
    // The 9 measured perturbed genes are kept whether or not they are HVGs.
    for g in ["STAT1", "JAK2", "UBE2L6", "CMTM6", "IFNGR2", "NFKBIA", "STAT2", "STAT3", "TNFRSF14"] {
        assert!(ds.gene_names.iter().any(|n| n == g), "{g} kept");
    }
    // Independent dense recomputation of every gene's Welch t for one condition.
    let c = ds.conditions.iter().position(|c| c == "IFNGR1+ctrl").unwrap();
    let g = ds.n_genes();
    let mut row = vec![0f32; g];
    let (mut a, mut b): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (vec![Vec::new(); g], vec![Vec::new(); g]);
    for cell in 0..ds.n_cells() {
        ds.x.row_dense_into(cell, &mut row);
        let k = ds.cell_condition[cell] as usize;
        for j in 0..g {
            if k == c {
                a[j].push(row[j] as f64);
            } else if k == 0 {
                b[j].push(row[j] as f64);
            }
        }
    }
    let mv = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (m, v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64)
    };
    let t: Vec<f64> = (0..g)
        .map(|j| {
            let ((ma, va), (mb, vb)) = (mv(&a[j]), mv(&b[j]));
            let t = (ma - mb) / (va / a[j].len() as f64 + vb / b[j].len() as f64).sqrt();
            if t.is_nan() { 0.0 } else { t }
        })
        .collect();
    let de = &ds.de[c];
    let abs: Vec<f64> = de.ranked.iter().map(|&j| t[j as usize].abs()).collect();
    assert!(abs.windows(2).all(|w| w[0] >= w[1] - 1e-6), "ranked by |t| descending");
    let best = (0..g).max_by(|&x, &y| t[x].abs().total_cmp(&t[y].abs())).unwrap();
    assert_eq!(de.ranked[0] as usize, best);
    // IFNGR1 knockout blunts IFN-gamma signalling: the top DE gene is strongly down.
    assert!(t[best] < -10.0, "top t = {}", t[best]);
    assert_eq!(de.top20_de, de.ranked[..20].to_vec());
    assert_eq!(de.ranked.len(), ds.n_genes());
    assert!(de.non_dropout.len() >= de.non_zeros.len());
    // Pairing: controls pair with themselves, others with a control cell.
    for (cell, &p) in ds.ctrl_pairing.iter().enumerate() {
        assert_eq!(ds.cell_condition[p as usize], 0);
        if ds.cell_condition[cell] == 0 {
            assert_eq!(p as usize, cell);
        }
    }
    assert_ne!(ds.ctrl_pairing, prepared_papalexi(4).ctrl_pairing);
}

#[test]
fn written_dataset_loads_back_identically_and_rewrites_byte_identically() {
    let ds = prepared_papalexi(7);
    let (p1, p2) = (tmp("papalexi-a.h5ad"), tmp("papalexi-b.h5ad"));
    store::write_dataset(ds.clone(), None, &p1, true).unwrap();
    store::write_dataset(prepared_papalexi(7), None, &p2, true).unwrap();
    assert_eq!(std::fs::read(&p1).unwrap(), std::fs::read(&p2).unwrap(), "byte-identical rerun");
    let back = graphreach::data::load_dataset(&p1).unwrap();
    assert_eq!(back, ds);
    let p3 = tmp("papalexi-plain.h5ad");
    store::write_dataset(ds.clone(), None, &p3, false).unwrap();
    assert_eq!(graphreach::data::load_dataset(&p3).unwrap(), ds);
    // GEARS layout: condition_name keys in uns and obs.
    let f = H5ad::open(&p1).unwrap();
    let keys = f.members("uns/rank_genes_groups_cov_all").unwrap();
    assert!(keys.contains(&"THP-1_IFNGR1+ctrl_1+1".to_string()), "{keys:?}");
    let obs = f.read_frame("obs").unwrap();
    for col in ["condition", "cell_type", "dose_val", "control", "condition_name"] {
        assert!(obs.columns.contains_key(col), "{col}");
    }
}

#[test]
fn graph_filter_resolves_aliases_and_drops_non_nodes() {
    let mut data = raw::read_raw(Path::new(PAPALEXI), Some("THP-1")).unwrap();
    let g = graphreach::graph::io::load_graph("builtin:go-k562").unwrap();
    let (dropped, renamed) = prepare::filter_by_graph(&mut data, &g);
    assert!(renamed.contains(&("MARCH8".to_string(), "MARCHF8".to_string())), "{renamed:?}");
    assert!(!dropped.iter().any(|(c, _)| c == "MARCH8+ctrl"));
    assert!(data.condition.iter().any(|c| c == "MARCHF8+ctrl") && !data.condition.iter().any(|c| c == "MARCH8+ctrl"));
    prepare::validate_conditions(&data, PAPALEXI).unwrap();
    for (c, _) in &dropped {
        let gene = c.trim_end_matches("+ctrl");
        assert!(g.node(gene).is_none(), "{gene} dropped but is a node");
    }
    let n_dropped: usize = dropped.iter().map(|d| d.1).sum();
    assert_eq!(data.counts.n_rows + n_dropped, 16_192);
}

#[test]
fn simulated_data_is_marked_synthetic_deterministic_and_prepares() {
    let sim = simulate::simulate(simulate::Preset::Adamson, 0.05, 11, false).unwrap();
    let again = simulate::simulate(simulate::Preset::Adamson, 0.05, 11, false).unwrap();
    assert_eq!(sim.counts, again.counts);
    assert!(sim.counts.data.iter().all(|v| v.fract() == 0.0 && *v > 0.0));
    assert_eq!(sim.n_perturbations, 4);
    let p = tmp("sim-adamson.h5ad");
    simulate::write_raw(sim, &p).unwrap();
    let q = tmp("sim-adamson-2.h5ad");
    simulate::write_raw(again, &q).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), std::fs::read(&q).unwrap());
    let data = raw::read_raw(&p, None).unwrap();
    assert!(data.synthetic);
    prepare::validate_conditions(&data, "sim").unwrap();
    let cfg = prepare::PrepareConfig { n_hvg: 2000, seed: 0, name: "sim".into() };
    let (ds, _) = prepare::prepare(data, &cfg, false).unwrap();
    assert!(ds.synthetic);
    // The knocked-down gene is the strongest or near-strongest DE gene of its condition.
    for c in 1..ds.conditions.len() {
        let gene = ds.conditions[c].trim_end_matches("+ctrl");
        if let Some(j) = ds.gene_names.iter().position(|g| g == gene) {
            let r = ds.de[c].ranked.iter().position(|&g| g as usize == j).unwrap();
            assert!(r < 20, "{gene} ranks {r} in its own knockdown");
        }
    }
    let out = tmp("sim-prepared.h5ad");
    store::write_dataset(ds, None, &out, false).unwrap();
    let back = graphreach::data::load_dataset(&out).unwrap();
    assert!(back.synthetic);
    let parts = split::split(&back.conditions, split::Scheme::Folds, 2, 1).unwrap();
    assert_eq!(parts.len(), 4);
}

#[test]
fn reads_pre_08_categories_and_dense_x() {
    use hdf5_pure::{AttrValue, FileBuilder};
    let mut fb = FileBuilder::new();
    fb.create_dataset("X").with_f32_data(&[1.0, 0.0, 2.0, 0.0, 3.0, 0.0]).with_shape(&[3, 2]);
    let mut obs = fb.create_group("obs");
    obs.set_attr("_index", AttrValue::VarLenString("_index".into()));
    obs.create_dataset("_index").with_vlen_strings(&["a", "b", "c"]);
    obs.create_dataset("condition").with_i8_data(&[0, 1, 1]);
    let mut cats = obs.create_group("__categories");
    cats.create_dataset("condition").with_vlen_strings(&["X+ctrl", "ctrl"]);
    obs.add_group(cats.finish());
    fb.add_group(obs.finish());
    let mut var = fb.create_group("var");
    var.create_dataset("_index").with_vlen_strings(&["g1", "g2"]);
    var.create_dataset("gene_name").with_vlen_strings(&["X", "Y"]);
    fb.add_group(var.finish());
    let p = tmp("old-layout.h5ad");
    fb.write(&p).unwrap();
    let data = raw::read_raw(&p, Some("K562")).unwrap();
    assert_eq!(data.condition, vec!["X+ctrl", "ctrl", "ctrl"]);
    assert_eq!(data.counts.indptr, vec![0, 1, 2, 3]);
    assert_eq!(data.counts.indices, vec![0, 0, 0]);
    assert_eq!(data.counts.data, vec![1.0, 2.0, 3.0]);
}


#[test]
fn cli_prepare_info_split_round_trip() {
    let bin = env!("CARGO_BIN_EXE_graphreach");
    let out = tmp("cli-prepared.h5ad");
    let _ = std::fs::remove_file(&out);
    let run = |args: &[&str]| std::process::Command::new(bin).args(args).output().unwrap();
    // Missing cell_type column without --cell-type: exit 2, message names file and field.
    let o = run(&["prepare", PAPALEXI, "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("obs/cell_type"));
    let o = run(&["prepare", PAPALEXI, "--out", out.to_str().unwrap(), "--cell-type", "THP-1", "--n-hvg", "50", "--graph", "builtin:go-k562"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("4537 unassigned cells dropped") && err.contains("MARCH8 -> MARCHF8") && err.contains("CAV1+ctrl"), "{err}");
    // Refuses to overwrite without --force.
    let o = run(&["prepare", PAPALEXI, "--out", out.to_str().unwrap(), "--cell-type", "THP-1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));
    let o = run(&["dataset", "info", out.to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["n_perturbations"], 21);
    assert_eq!(v["n_control_cells"], 1923);
    assert_eq!(v["synthetic"], false);
    let dir = tmp("cli-splits");
    let _ = std::fs::remove_dir_all(&dir);
    let o = run(&["split", out.to_str().unwrap(), "--scheme", "active", "--seed", "2", "--out", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let test = std::fs::read_to_string(dir.join("test.txt")).unwrap();
    let train = std::fs::read_to_string(dir.join("train.txt")).unwrap();
    assert!(!test.is_empty() && test.lines().all(|g| !train.lines().any(|t| t == g)));
    assert!(train.lines().any(|g| g == "MARCHF8") || test.lines().any(|g| g == "MARCHF8"));
    let o = run(&["split", out.to_str().unwrap(), "--scheme", "active", "--out", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn missing_condition_or_gene_name_columns_are_named() {
    use hdf5_pure::FileBuilder;
    let build = |with_condition: bool, with_gene_name: bool, name: &str| {
        let mut fb = FileBuilder::new();
        fb.create_dataset("X").with_f32_data(&[1.0, 0.0, 2.0, 1.0]).with_shape(&[2, 2]);
        let mut obs = fb.create_group("obs");
        obs.create_dataset("_index").with_vlen_strings(&["a", "b"]);
        if with_condition {
            obs.create_dataset("condition").with_vlen_strings(&["ctrl", "ctrl"]);
        }
        fb.add_group(obs.finish());
        let mut var = fb.create_group("var");
        var.create_dataset("_index").with_vlen_strings(&["g1", "g2"]);
        if with_gene_name {
            var.create_dataset("gene_name").with_vlen_strings(&["X", "Y"]);
        }
        fb.add_group(var.finish());
        let p = tmp(name);
        fb.write(&p).unwrap();
        p
    };
    let e = raw::read_raw(&build(false, true, "no-cond.h5ad"), Some("K562")).err().unwrap().to_string();
    assert!(e.contains("no-cond.h5ad") && e.contains("obs/condition"), "{e}");
    let e = raw::read_raw(&build(true, false, "no-gene-name.h5ad"), Some("K562")).err().unwrap().to_string();
    assert!(e.contains("no-gene-name.h5ad") && e.contains("var/gene_name"), "{e}");
    assert!(raw::read_raw(&build(true, true, "complete.h5ad"), Some("K562")).is_ok());
}
