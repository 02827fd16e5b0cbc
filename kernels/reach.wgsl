// reach: L-hop frontier expansion over CSR, producing one ball bitset per seed set, and the
// compaction of ball bitsets into sorted member lists.
//
// Twin of reach.cu: same entry names, same arguments in the same order.
// Bitsets are rows of u32 words (bit i % 32 of word i / 32 is node i), one row of `words`
// words per seed set, rows back to back. The host seeds `visited` and `frontier` with the seed
// sets, then runs `reach_expand_u32` + `reach_advance_u32` once per hop; `visited` is the ball.
// For sparse balls the host then runs `reach_count_u32` (members per row), turns the counts into
// launch-local offsets, and runs `reach_compact_u32` over groups of rows whose lists fit the
// members buffer; each row's members come out ascending, as the CPU twin lists them.
//
// Bindings (group 0; an entry uses the subset listed, in this order; `params` is last):
//   0 indptr   : array<u32>          CSR row offsets, n_nodes + 1
//   1 indices  : array<u32>          CSR column indices (row v = nodes one hop from v)
//   2 frontier : array<u32>          rows of the current frontier
//   3 visited  : array<u32>          rows of the nodes reached so far (read-only while expanding)
//   4 next     : array<atomic<u32>>  rows of the next frontier (zero before expanding)
//   5 offsets  : array<u32>          reach_count_u32: members per row (n_rows); reach_compact_u32:
//                                    the launch's exclusive offsets into `members` (n_rows + 1, from 0)
//   6 members  : array<u32>          member ids of the launch's rows, back to back
//   7 params   : uniform Params      { n_nodes, words, n_rows, first_row } (first_row: the tile
//                                    row that the launch's row 0 is; 0 for the other entries)
//
// Entries (workgroup size 256; grid = 2D, flattened as group = wid.y * num_workgroups.x + wid.x):
//   reach_expand_u32 (indptr, indices, frontier, visited, next, params):
//       one invocation per row word (invocation = group * 256 + lid.x):
//       next |= neighbours(frontier) & !visited
//   reach_advance_u32 (frontier, visited, next, params):
//       one invocation per row word: frontier = next & !visited; visited |= frontier; next = 0
//   reach_count_u32 (visited, offsets, params):
//       one workgroup per row: offsets[row] = popcount(visited row)
//   reach_compact_u32 (visited, offsets, members, params):
//       one workgroup per row k of the launch (tile row first_row + k): the set bits of the row,
//       ascending, to members[offsets[k]..offsets[k + 1]] (each invocation owns ceil(words / 256)
//       consecutive words; one workgroup scan of their popcounts)

struct Params {
    n_nodes: u32,
    words: u32,
    n_rows: u32,
    first_row: u32,
}

@group(0) @binding(0) var<storage, read> indptr: array<u32>;
@group(0) @binding(1) var<storage, read> indices: array<u32>;
@group(0) @binding(2) var<storage, read_write> frontier: array<u32>;
@group(0) @binding(3) var<storage, read_write> visited: array<u32>;
@group(0) @binding(4) var<storage, read_write> next: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> offsets: array<u32>;
@group(0) @binding(6) var<storage, read_write> members: array<u32>;
@group(0) @binding(7) var<uniform> params: Params;

var<workgroup> scan: array<u32, 256>;

fn flat_group(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.y * nwg.x + wid.x;
}

fn flat_id(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return flat_group(wid, nwg) * 256u + lid.x;
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

@compute @workgroup_size(256)
fn reach_count_u32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = flat_group(wid, nwg);
    if (r >= params.n_rows) {
        return;
    }
    let row = (params.first_row + r) * params.words;
    var c = 0u;
    for (var wi = lid.x; wi < params.words; wi = wi + 256u) {
        c = c + countOneBits(visited[row + wi]);
    }
    scan[lid.x] = c;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (lid.x < s) {
            scan[lid.x] = scan[lid.x] + scan[lid.x + s];
        }
        workgroupBarrier();
    }
    if (lid.x == 0u) {
        offsets[r] = scan[0];
    }
}

@compute @workgroup_size(256)
fn reach_compact_u32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = flat_group(wid, nwg);
    if (r >= params.n_rows) {
        return;
    }
    let row = (params.first_row + r) * params.words;
    // Invocation i owns the consecutive words [lo, hi) of the row.
    let seg = (params.words + 255u) / 256u;
    let lo = min(lid.x * seg, params.words);
    let hi = min(lo + seg, params.words);
    var c = 0u;
    for (var wi = lo; wi < hi; wi = wi + 1u) {
        c = c + countOneBits(visited[row + wi]);
    }
    scan[lid.x] = c;
    workgroupBarrier();
    // Inclusive Hillis-Steele scan of the 256 segment popcounts.
    for (var off = 1u; off < 256u; off = off << 1u) {
        var v = 0u;
        if (lid.x >= off) {
            v = scan[lid.x - off];
        }
        workgroupBarrier();
        scan[lid.x] = scan[lid.x] + v;
        workgroupBarrier();
    }
    var p = offsets[r] + scan[lid.x] - c;
    for (var wi = lo; wi < hi; wi = wi + 1u) {
        var w = visited[row + wi];
        while (w != 0u) {
            members[p] = wi * 32u + countTrailingZeros(w);
            p = p + 1u;
            w = w & (w - 1u);
        }
    }
}
