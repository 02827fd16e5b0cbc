// spmv: batched power iteration for the spectral norm of M[S, S], M = D^-1/2 (A + I) D^-1/2,
// for a batch of node sets S in one launch (one workgroup per set).
//
// Twin of spmv.cu: same entry names, same arguments in the same order.
// Each iteration is two CSR SpMVs restricted to S (y = M[S,S] x as a gather over the rows of A,
// z = M[S,S]^T y as a gather over the rows of A^T, so no float atomics are needed), then the
// dot product x.z (= sigma^2 for unit x) and the norm |z|, reduced in workgroup memory, and
// x = z / |z|. Stops when sigma changes by at most `tol` relative (after the first iteration),
// when z = 0 (sigma = 0), or after `max_iter` iterations. One launch runs at most `iters`
// iterations and leaves its state in `out` and `work`; the host relaunches until every set has
// stopped (short launches keep clear of driver watchdogs). f32 throughout: MaxSpec re-checks the
// candidates near the best on the CPU in f64 (see select::maxspec).
//
// Bindings (group 0, in this order; `params` is last):
//   0 adj    : array<u32>  A (0/1, no diagonal): row offsets (n_nodes + 1) then column indices
//   1 adjt   : array<u32>  A^T in the same layout
//   2 dinv   : array<f32>  1 / sqrt(deg + 1) per node
//   3 sets   : array<u32>  set offsets (n_sets + 1, into the member part) then sorted members
//   4 work   : array<f32>  x | y | z, each `total` long, indexed like the members; x holds the
//                          (unit) start vector on entry and the singular vector on exit
//   5 out    : array<u32>  3 per set: bitcast sigma, iterations, state (0 running, 1 converged,
//                          2 stopped at max_iter); all zero before the first launch
//   6 params : uniform Params { n_nodes, n_sets, total, max_iter, tol, iters }
//
// Entry (workgroup size 256; grid 2D, flattened as group = wid.y * num_workgroups.x + wid.x):
//   spmv_power_f32 (adj, adjt, dinv, sets, work, out, params)

struct Params {
    n_nodes: u32,
    n_sets: u32,
    total: u32,
    max_iter: u32,
    tol: f32,
    iters: u32,
}

@group(0) @binding(0) var<storage, read> adj: array<u32>;
@group(0) @binding(1) var<storage, read> adjt: array<u32>;
@group(0) @binding(2) var<storage, read> dinv: array<f32>;
@group(0) @binding(3) var<storage, read> sets: array<u32>;
@group(0) @binding(4) var<storage, read_write> work: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<u32>;
@group(0) @binding(6) var<uniform> params: Params;

var<workgroup> red_a: array<f32, 256>;
var<workgroup> red_b: array<f32, 256>;
var<workgroup> scale: f32;
var<workgroup> stop: u32;
var<workgroup> state_in: u32;

// Position of node `c` in members [lo, hi), or 0xffffffff.
fn find(c: u32, lo: u32, hi: u32) -> u32 {
    var a = lo;
    var b = hi;
    while (a < b) {
        let m = (a + b) / 2u;
        let v = sets[m];
        if (v == c) {
            return m;
        }
        if (v < c) {
            a = m + 1u;
        } else {
            b = m;
        }
    }
    return 0xffffffffu;
}

// Workgroup sums of (a, b) into red_a[0], red_b[0].
fn reduce2(a: f32, b: f32, l: u32) {
    red_a[l] = a;
    red_b[l] = b;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (l < s) {
            red_a[l] = red_a[l] + red_a[l + s];
            red_b[l] = red_b[l] + red_b[l + s];
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(256)
fn spmv_power_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_id) lid: vec3<u32>) {
    let g = wid.y * nwg.x + wid.x;
    if (g >= params.n_sets) {
        return;
    }
    let l = lid.x;
    let base = params.n_sets + 1u;   // members start in `sets`
    let a = sets[g];                 // first member slot (also the x/y/z slot)
    let k = sets[g + 1u] - a;
    let tdx = params.n_nodes + 1u;   // indices start in adj / adjt
    let yo = params.total;
    let zo = 2u * params.total;
    if (l == 0u) {
        state_in = out[3u * g + 2u];
    }
    if (workgroupUniformLoad(&state_in) != 0u) {
        return;
    }
    if (k == 0u) {
        if (l == 0u) {
            out[3u * g] = bitcast<u32>(0.0f);
            out[3u * g + 1u] = 0u;
            out[3u * g + 2u] = 1u;
        }
        return;
    }
    var sigma = bitcast<f32>(out[3u * g]);
    var it = out[3u * g + 1u];
    var state = 0u;
    var here = 0u;
    loop {
        it = it + 1u;
        here = here + 1u;
        // y = M[S,S] x
        for (var r = l; r < k; r = r + 256u) {
            let v = sets[base + a + r];
            let dv = dinv[v];
            var acc = dv * dv * work[a + r];
            for (var p = adj[v]; p < adj[v + 1u]; p = p + 1u) {
                let c = adj[tdx + p];
                let j = find(c, base + a, base + a + k);
                if (j != 0xffffffffu) {
                    acc = acc + dv * dinv[c] * work[j - base];
                }
            }
            work[yo + a + r] = acc;
        }
        storageBarrier();
        workgroupBarrier();
        // z = M[S,S]^T y, with partial sums of x.z and z.z
        var dot = 0.0;
        var nz = 0.0;
        for (var r = l; r < k; r = r + 256u) {
            let c = sets[base + a + r];
            let dc = dinv[c];
            var acc = dc * dc * work[yo + a + r];
            for (var p = adjt[c]; p < adjt[c + 1u]; p = p + 1u) {
                let rr = adjt[tdx + p];
                let j = find(rr, base + a, base + a + k);
                if (j != 0xffffffffu) {
                    acc = acc + dinv[rr] * dc * work[yo + j - base];
                }
            }
            work[zo + a + r] = acc;
            dot = dot + work[a + r] * acc;
            nz = nz + acc * acc;
        }
        storageBarrier();
        reduce2(dot, nz, l);
        if (l == 0u) {
            let new_sigma = sqrt(max(red_a[0], 0.0));
            let zn = sqrt(red_b[0]);
            if (zn == 0.0) {
                sigma = 0.0;
                state = 1u;
                scale = 0.0;
            } else {
                scale = 1.0 / zn;
                let done = abs(new_sigma - sigma) <= params.tol * new_sigma;
                sigma = new_sigma;
                if (done && it > 1u) {
                    state = 1u;
                }
            }
            if (state == 0u && it >= params.max_iter) {
                state = 2u;
            }
            stop = select(0u, 1u, state != 0u || here >= params.iters);
        }
        let sc = workgroupUniformLoad(&scale);
        if (sc != 0.0) {
            for (var r = l; r < k; r = r + 256u) {
                work[a + r] = work[zo + a + r] * sc;
            }
        }
        storageBarrier();
        if (workgroupUniformLoad(&stop) != 0u) {
            break;
        }
    }
    if (l == 0u) {
        out[3u * g] = bitcast<u32>(sigma);
        out[3u * g + 1u] = it;
        out[3u * g + 2u] = state;
    }
}
