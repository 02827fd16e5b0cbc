//! Tests of the hub-SBM generator against the checks of `hub-sbm.md`.

use super::*;
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn edge_text(keys: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    write_edges(keys, &mut out).unwrap();
    out
}

fn check_preset(name: &str, edges: usize, first: [(u32, u32); 3], last: (u32, u32)) {
    let (_, p, sha) = PRESETS.iter().find(|p| p.0 == name).unwrap();
    let keys = p.edges().unwrap();
    assert_eq!(keys.len(), edges);
    let pairs: Vec<(u32, u32)> = keys[..3].iter().map(|&k| unpack(k)).collect();
    assert_eq!(pairs, first);
    assert_eq!(unpack(*keys.last().unwrap()), last);
    assert_eq!(sha256_hex(&edge_text(&keys)), *sha);
}

#[test]
fn a_go_like_matches_the_spec() {
    check_preset("a_go_like", 196_649, [(0, 121), (0, 218), (0, 334)], (9828, 9852));
}

#[test]
fn b_genome_matches_the_spec() {
    check_preset("b_genome", 989_836, [(0, 200), (0, 250), (0, 650)], (19960, 19999));
}

#[test]
fn a_go_like_candidates_match_the_spec() {
    let p = preset("a_go_like").unwrap();
    let c = p.candidates().unwrap();
    assert_eq!(c.len(), 1_088);
    assert!(c.windows(2).all(|w| w[0] < w[1]));
    let mut text = Vec::new();
    write_nodes(&c, &mut text).unwrap();
    assert_eq!(sha256_hex(&text), "64612a987fc92e9b7c72a758e32b9d6cc1532978cf97c724640ce215b78096d0");
}

#[test]
fn all_candidates_when_cand_equals_n() {
    let p = HubSbm { nodes: 7, draws: 10, communities: 2, hub_q: 300, p_in: 80, seed: 9, candidates: 7 };
    assert_eq!(p.candidates().unwrap(), (0..7).collect::<Vec<u32>>());
}

#[test]
fn small_graph_is_symmetric_sorted_and_loop_free() {
    let p = HubSbm { nodes: 31, draws: 400, communities: 3, hub_q: 300, p_in: 80, seed: 5, candidates: 4 };
    let keys = p.edges().unwrap();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    let g = to_graph("t", 31, &keys);
    assert_eq!(g.n_edges(), 2 * keys.len());
    assert_eq!(g.out.self_loops(), 0);
    assert_eq!(g.out.transpose(), g.out);
    for r in 0..31 {
        assert!(g.out.row(r).windows(2).all(|w| w[0] < w[1]));
    }
    // Candidates: the 4 smallest keys R(seed ^ 0xC0FFEE, v), ascending.
    let mut keyed: Vec<(u64, u32)> = (0..31).map(|v| (splitmix_at(5 ^ 0xC0FFEE, v as u64), v)).collect();
    keyed.sort();
    let mut want: Vec<u32> = keyed[..4].iter().map(|p| p.1).collect();
    want.sort();
    assert_eq!(p.candidates().unwrap(), want);
}

#[test]
fn preset_hooks_resolve_names_and_reject_mismatches() {
    let g = preset_graph("a_go_like").unwrap();
    assert_eq!(g.n_nodes(), 9_853);
    assert_eq!(g.n_edges(), 2 * 196_649);
    assert_eq!(g.name, "gen:a_go_like");
    let nodes = preset_candidates(&g, "a_go_like").unwrap();
    assert_eq!(nodes.len(), 1_088);
    assert!(preset_candidates(&g, "b_genome").is_err());
    assert!(preset("nope").is_err());
}

#[test]
fn invalid_parameters_are_errors() {
    let ok = HubSbm { nodes: 10, draws: 5, communities: 2, hub_q: 300, p_in: 80, seed: 1, candidates: 10 };
    assert!(ok.validate().is_ok());
    for bad in [
        HubSbm { nodes: 0, ..ok },
        HubSbm { communities: 0, ..ok },
        HubSbm { communities: 11, ..ok },
        HubSbm { hub_q: 1001, ..ok },
        HubSbm { p_in: 101, ..ok },
        HubSbm { candidates: 11, ..ok },
    ] {
        assert!(bad.edges().is_err(), "{bad:?}");
    }
}
