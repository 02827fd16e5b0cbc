// reach: L-hop frontier expansion over CSR, producing one ball bitset per seed set.
//
// Twin of reach.cu: same entry names, same arguments in the same order.
// Bitsets are rows of u32 words (bit i % 32 of word i / 32 is node i), one row of `words`
// words per seed set, rows back to back. The host seeds `visited` and `frontier` with the seed
// sets, then runs `reach_expand_u32` + `reach_advance_u32` once per hop; `visited` is the ball.
//
// Bindings (group 0; an entry uses the subset listed, in this order; `params` is last):
//   0 indptr   : array<u32>          CSR row offsets, n_nodes + 1
//   1 indices  : array<u32>          CSR column indices (row v = nodes one hop from v)
//   2 frontier : array<u32>          rows of the current frontier
//   3 visited  : array<u32>          rows of the nodes reached so far (read-only while expanding)
//   4 next     : array<atomic<u32>>  rows of the next frontier (zero before expanding)
//   5 params   : uniform Params      { n_nodes, words, n_rows, pad }
//
// Entries (workgroup size 256, one invocation per row word; grid = 2D, flattened as
// group = wid.y * num_workgroups.x + wid.x, invocation = group * 256 + lid.x):
//   reach_expand_u32 (indptr, indices, frontier, visited, next, params):
//       next |= neighbours(frontier) & !visited
//   reach_advance_u32 (frontier, visited, next, params):
//       frontier = next & !visited; visited |= frontier; next = 0

struct Params {
    n_nodes: u32,
    words: u32,
    n_rows: u32,
    pad: u32,
}

@group(0) @binding(0) var<storage, read> indptr: array<u32>;
@group(0) @binding(1) var<storage, read> indices: array<u32>;
@group(0) @binding(2) var<storage, read_write> frontier: array<u32>;
@group(0) @binding(3) var<storage, read_write> visited: array<u32>;
@group(0) @binding(4) var<storage, read_write> next: array<atomic<u32>>;
@group(0) @binding(5) var<uniform> params: Params;

fn flat_id(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * 256u + lid.x;
}

@compute @workgroup_size(256)
fn reach_expand_u32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = flat_id(wid, nwg, lid);
    if (t >= params.words * params.n_rows) {
        return;
    }
    let row = (t / params.words) * params.words;
    let wi = t % params.words;
    var f = frontier[t];
    while (f != 0u) {
        let u = wi * 32u + countTrailingZeros(f);
        f = f & (f - 1u);
        for (var p = indptr[u]; p < indptr[u + 1u]; p = p + 1u) {
            let w = indices[p];
            let bit = 1u << (w & 31u);
            let k = row + (w >> 5u);
            if ((visited[k] & bit) == 0u) {
                atomicOr(&next[k], bit);
            }
        }
    }
}

@compute @workgroup_size(256)
fn reach_advance_u32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = flat_id(wid, nwg, lid);
    if (t >= params.words * params.n_rows) {
        return;
    }
    let nx = atomicLoad(&next[t]) & ~visited[t];
    visited[t] = visited[t] | nx;
    frontier[t] = nx;
    atomicStore(&next[t], 0u);
}
