// gains: batched marginal gains of candidate balls against a covered bitset, and the
// covered-set update when a ball is committed.
//
// Twin of gains.cu: same entry names, same arguments in the same order.
// Words are u32 (bit i % 32 of word i / 32 is node i). A gain is the number of ball members not
// yet covered, or with `weighted` != 0 the sum of their fixed-point weights; gains are exact
// 64-bit integers written as (lo, hi) u32 pairs, so every backend agrees bit for bit.
//
// Bindings (group 0; an entry uses the subset listed, in this order; `params` is last):
//   0 sets    : array<u32>           dense: rows of `words` words; sparse: sorted member lists
//   1 offsets : array<u32>           sparse only: start of each list in `sets`, n_sets + 1
//   2 covered : array<atomic<u32>>   covered bitset, `words` words
//   3 weights : array<u32>           per-node fixed-point weights (1 element when unweighted)
//   4 ids     : array<u32>           balls (rows / lists) to evaluate
//   5 out     : array<u32>           2 * n_ids: gain of ids[k] as (lo, hi) at 2k, 2k+1
//   6 params  : uniform Params       { words, n_ids, weighted, commit_id }
//
// Entries (workgroup size 256; grid 2D, flattened as group = wid.y * num_workgroups.x + wid.x):
//   gains_dense_u32  (sets, covered, weights, ids, out, params)          one workgroup per id
//   gains_sparse_u32 (sets, offsets, covered, weights, ids, out, params) one workgroup per id
//   commit_dense_u32  (sets, covered, params)          one invocation per word: covered |= row
//   commit_sparse_u32 (sets, offsets, covered, params) one invocation per member: set its bit

struct Params {
    words: u32,
    n_ids: u32,
    weighted: u32,
    commit_id: u32,
}

@group(0) @binding(0) var<storage, read> sets: array<u32>;
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read_write> covered: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read> weights: array<u32>;
@group(0) @binding(4) var<storage, read> ids: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<u32>;
@group(0) @binding(6) var<uniform> params: Params;

var<workgroup> red_lo: array<u32, 256>;
var<workgroup> red_hi: array<u32, 256>;

// (lo, hi) + x with carry.
fn add64(a: vec2<u32>, x: u32) -> vec2<u32> {
    let lo = a.x + x;
    return vec2<u32>(lo, a.y + select(0u, 1u, lo < a.x));
}

fn add64v(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

// Gain contribution of the uncovered bits `m` of word `wi`.
fn word_gain(acc: vec2<u32>, m: u32, wi: u32) -> vec2<u32> {
    if (params.weighted == 0u) {
        return add64(acc, countOneBits(m));
    }
    var r = acc;
    var x = m;
    while (x != 0u) {
        r = add64(r, weights[wi * 32u + countTrailingZeros(x)]);
        x = x & (x - 1u);
    }
    return r;
}

// Sums red_lo/red_hi over the workgroup; invocation 0 writes out[2g], out[2g+1].
fn reduce_and_store(acc: vec2<u32>, l: u32, g: u32) {
    red_lo[l] = acc.x;
    red_hi[l] = acc.y;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (l < s) {
            let r = add64v(vec2<u32>(red_lo[l], red_hi[l]), vec2<u32>(red_lo[l + s], red_hi[l + s]));
            red_lo[l] = r.x;
            red_hi[l] = r.y;
        }
        workgroupBarrier();
    }
    if (l == 0u) {
        out[2u * g] = red_lo[0];
        out[2u * g + 1u] = red_hi[0];
    }
}

@compute @workgroup_size(256)
fn gains_dense_u32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_id) lid: vec3<u32>) {
    let g = wid.y * nwg.x + wid.x;
    if (g >= params.n_ids) {
        return;
    }
    let base = ids[g] * params.words;
    var acc = vec2<u32>(0u, 0u);
    for (var w = lid.x; w < params.words; w = w + 256u) {
        let m = sets[base + w] & ~atomicLoad(&covered[w]);
        acc = word_gain(acc, m, w);
    }
    reduce_and_store(acc, lid.x, g);
}

@compute @workgroup_size(256)
fn gains_sparse_u32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_id) lid: vec3<u32>) {
    let g = wid.y * nwg.x + wid.x;
    if (g >= params.n_ids) {
        return;
    }
    let id = ids[g];
    var acc = vec2<u32>(0u, 0u);
    for (var p = offsets[id] + lid.x; p < offsets[id + 1u]; p = p + 256u) {
        let v = sets[p];
        if ((atomicLoad(&covered[v >> 5u]) & (1u << (v & 31u))) == 0u) {
            acc = add64(acc, select(1u, weights[v], params.weighted != 0u));
        }
    }
    reduce_and_store(acc, lid.x, g);
}

@compute @workgroup_size(256)
fn commit_dense_u32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = (wid.y * nwg.x + wid.x) * 256u + lid.x;
    if (t >= params.words) {
        return;
    }
    let m = sets[params.commit_id * params.words + t];
    if (m != 0u) {
        atomicOr(&covered[t], m);
    }
}

@compute @workgroup_size(256)
fn commit_sparse_u32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_id) lid: vec3<u32>) {
    let t = (wid.y * nwg.x + wid.x) * 256u + lid.x;
    let start = offsets[params.commit_id];
    if (t >= offsets[params.commit_id + 1u] - start) {
        return;
    }
    let v = sets[start + t];
    atomicOr(&covered[v >> 5u], 1u << (v & 31u));
}
