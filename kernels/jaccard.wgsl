// jaccard: candidate pairs of the GO graph builder (`graphreach graph build`). For each target
// gene of a tile, the intersection counts |GO(s) ∩ GO(t)| against every source s (through the
// term -> gene postings), then the integer threshold test `count >= need[|GO(s)| + |GO(t)|]`
// (host `ThresholdTable`); the passing (source, count) pairs are written, in no particular order,
// to the target's output slot. The host turns them into the exact top-(k+1) rows. Integers only,
// so every backend agrees bit for bit.
//
// Twin of jaccard.cu: same entry name, same arguments in the same order.
//
// Bindings (group 0; `params` is last):
//   0 genes   : array<u32>          gene CSR packed: gene_ptr (n_genes + 1) then gene_terms
//   1 terms   : array<u32>          term CSR packed: term_ptr (n_terms + 1) then term_genes
//   2 need    : array<u32>          smallest passing count per size sum (0xffffffff: none passes)
//   3 out_off : array<u32>          n_targets + 1: first pair slot of each target of the tile
//   4 counts  : array<atomic<u32>>  n_targets rows of n_genes counters; zero on entry and on exit
//   5 n_out   : array<atomic<u32>>  n_targets: pairs written per target (zero on entry)
//   6 out     : array<u32>          2 per pair slot: (source, count)
//   7 params  : uniform Params      { first_target, n_targets, n_genes, n_terms }
//
// Entry (workgroup size 256; grid 2D, flattened as group = wid.y * num_workgroups.x + wid.x):
//   jaccard_candidates_u32 (genes, terms, need, out_off, counts, n_out, out, params)
//       one workgroup per target `first_target + group`. Pass 1 adds 1 to counts[s] for every
//       posting s of every term of the target; after a barrier, pass 2 walks the same postings
//       and takes each counter with an atomic exchange against 0, so exactly one invocation sees
//       a source's full count (and the row is zero again for the next launch). The host sizes a
//       target's slot as min(sum of its postings' lengths, n_genes), a bound on its distinct sources.

struct Params {
    first_target: u32,
    n_targets: u32,
    n_genes: u32,
    n_terms: u32,
}

@group(0) @binding(0) var<storage, read> genes: array<u32>;
@group(0) @binding(1) var<storage, read> terms: array<u32>;
@group(0) @binding(2) var<storage, read> need: array<u32>;
@group(0) @binding(3) var<storage, read> out_off: array<u32>;
@group(0) @binding(4) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> n_out: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> out: array<u32>;
@group(0) @binding(7) var<uniform> params: Params;

@compute @workgroup_size(256)
fn jaccard_candidates_u32(@builtin(workgroup_id) wid: vec3<u32>,
                          @builtin(num_workgroups) nwg: vec3<u32>,
                          @builtin(local_invocation_id) lid: vec3<u32>) {
    let g = wid.y * nwg.x + wid.x;
    if (g >= params.n_targets) {
        return;
    }
    let t = params.first_target + g;
    let gene_base = params.n_genes + 1u;
    let term_base = params.n_terms + 1u;
    let row = g * params.n_genes;
    let t_begin = genes[t];
    let t_end = genes[t + 1u];
    let size_t = t_end - t_begin;
    for (var k = t_begin; k < t_end; k = k + 1u) {
        let term = genes[gene_base + k];
        let p_end = terms[term + 1u];
        for (var j = terms[term] + lid.x; j < p_end; j = j + 256u) {
            atomicAdd(&counts[row + terms[term_base + j]], 1u);
        }
    }
    storageBarrier();
    let slot0 = out_off[g];
    for (var k = t_begin; k < t_end; k = k + 1u) {
        let term = genes[gene_base + k];
        let p_end = terms[term + 1u];
        for (var j = terms[term] + lid.x; j < p_end; j = j + 256u) {
            let s = terms[term_base + j];
            let c = atomicExchange(&counts[row + s], 0u);
            if (c != 0u) {
                let size_s = genes[s + 1u] - genes[s];
                if (c >= need[size_s + size_t]) {
                    let p = 2u * (slot0 + atomicAdd(&n_out[g], 1u));
                    out[p] = s;
                    out[p + 1u] = c;
                }
            }
        }
    }
}
