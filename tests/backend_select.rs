//! `--backend auto` never takes a software wgpu adapter, and explains every backend it skipped.

use graphreach::backend::{probe_all, select_backend, BackendChoice};

#[test]
fn auto_skips_software_adapters_and_says_why() {
    let (b, notes) = select_backend(BackendChoice::Auto).unwrap();
    eprintln!("auto chose {} ({}); notes: {notes:?}", b.name(), b.describe());
    if b.name() == "wgpu" {
        assert!(!b.describe().contains("(Cpu,"), "auto took a software adapter: {}", b.describe());
    }
    let order = ["cuda", "wgpu", "cpu"];
    let taken = order.iter().position(|&n| n == b.name()).unwrap();
    for skipped in &order[..taken] {
        assert!(notes.iter().any(|n| n.starts_with(&format!("skipped {skipped}:"))), "no note for {skipped}: {notes:?}");
    }
}

#[test]
fn probe_lists_every_backend_and_the_cpu_is_always_available() {
    let r = probe_all();
    assert_eq!(r.iter().map(|p| p.backend).collect::<Vec<_>>(), ["cuda", "wgpu", "cpu"]);
    assert!(r[2].available && r[2].auto_eligible);
    for p in &r {
        assert!(!p.detail.is_empty());
        if !p.available {
            assert!(!p.auto_eligible);
        }
    }
}
