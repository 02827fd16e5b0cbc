// gears: the ops of the GEARS trainer (src/gears/device) on f32 row-major buffers.
//
// Twin of gears.cu: same entry names, same arguments in the same order (the CUDA kernels take
// the `Params` struct by value as their last argument).
// Every entry reads and writes only the bindings listed for it; f32 buffers are bound
// read_write (0..5), u32 index buffers read-only (6..8). A buffer is never bound twice in one
// dispatch (in-place updates go through a single binding). Params fields are generic: u0..u11
// (u32) and f0..f11 (f32), their meaning per entry below. Grids are 2D, flattened as
// group = wid.y * num_workgroups.x + wid.x; workgroup size 256 everywhere.
//
// Bindings (group 0): 0..5 x0..x5 : array<f32>; 6..8 i0..i2 : array<u32>; 9 params : uniform Params.
//
// Entries (arguments; params used):
//   gears_fill       (x0)                     x0[u1 + i] = f0, i < u0
//   gears_axpbyz     (x0, x1, x2)             x2[u3+i] = f0 x0[u1+i] + f1 x1[u2+i] (+ f2 x2[u3+i] when f2 != 0), i < u0
//   gears_rows_bcast (x0, x1)                 x1[r u1 + c] = x0[c], r < u0, c < u1 (bias rows)
//   gears_gemm       (x0 = A, x1 = B, x2 = C) C = f0 op(A) op(B) + f1 C; m = u0, n = u1, k = u2,
//                                             u3 bit 0: A transposed, bit 1: B transposed;
//                                             lda, ldb, ldc = u4, u5, u6; element offsets u7, u8, u9.
//                                             16x16 output tiles, one workgroup each (any m, n, k)
//   gears_colsum     (x0, x1)                 x1[c] = f0 sum_r x0[r u1 + c] + f1 x1[c], r < u0, c < u1; one workgroup per column
//   gears_bn_stats   (x0 = x, x1 = wts, x2 = stats)
//                                             weighted column mean | biased var | 1/sqrt(var + f1) into
//                                             stats[c], stats[u1 + c], stats[2 u1 + c]; rows u0, cols u1,
//                                             total weight f0; two passes (mean, then squared deviations)
//   gears_bn_apply   (x0 = x, x1 = stats, x2 = gamma, x3 = beta, x4 = xhat, x5 = y)
//                                             xhat = (x - mean) istd; y = (x - mean) (gamma istd) + beta;
//                                             u2 = 1: ReLU on y; rows u0, cols u1
//   gears_bn_eval    (x0 = x, x1 = running_mean, x2 = running_var, x3 = gamma, x4 = beta, x5 = y)
//                                             eval mode: s = gamma / sqrt(rv + f0); y = x s + (beta - rm s);
//                                             u2 = 1: ReLU on y; rows u0, cols u1
//   gears_bn_running (x0 = stats, x1 = running_mean, x2 = running_var)
//                                             rm = (1 - f0) rm + f0 mean; rv = (1 - f0) rv + f0 var f1; c < u1
//   gears_bn_bwd_reduce (x0 = dy, x1 = xhat, x2 = dgamma, x3 = dbeta, x4 = sums)
//                                             s1 = sum_r dy, s2 = sum_r dy xhat per column; dbeta += s1,
//                                             dgamma += s2, sums = s1 | s2; one workgroup per column
//   gears_bn_bwd_dx  (x0 = dy then dx, x1 = xhat, x2 = wts, x3 = stats, x4 = gamma, x5 = sums)
//                                             dx = gamma istd (dy - w s1 / f0 - w xhat s2 / f0)
//   gears_relu_bwd   (x0 = d, x1 = y)         d = 0 where y <= 0, i < u0
//   gears_spmm       (x0 = H, x1 = w, x2 = out, i0 = indptr, i1 = idx)
//                                             out[r, c] = f0 sum_{k in row r} w[k] H[idx[k], c] + f1 out[r, c]
//                                             (out read only when f1 != 0); rows u0, cols u1
//   gears_grid       (x0 = a, x1 = q, x2 = grid, i0 = info)
//                                             grid[(g G + j) h + k] = a[(v G + j) h + k] + q[o h + k] with
//                                             v = info[2g], o = info[2g+1] (0xffffffff: no q); groups u0, G u1, h u2
//   gears_indv1_fwd  (x0 = r, x1 = w1, x2 = b1, x3 = u)
//                                             u[g G + j] = sum_k r[(g G + j) h + k] w1[j h + k] + b1[j]
//   gears_indv1_bwd_w (x0 = du, x1 = r, x2 = dw1, x3 = db1)
//                                             dw1[j h + k] += sum_g du[g G + j] r[(g G + j) h + k]; db1[j] += sum_g du[g G + j]
//   gears_indv1_bwd_x (x0 = du, x1 = w1, x2 = dr)
//                                             dr[(g G + j) h + k] = du[g G + j] w1[j h + k]
//   gears_indv2_fwd  (x0 = u, x1 = w2, x2 = b2, x3 = delta)
//                                             delta[g G + j] += w2[j (h+1)] u[g G + j] + b2[j]
//   gears_indv2_bwd  (x0 = dd, x1 = u, x2 = w2, x3 = dw2, x4 = db2, x5 = du)
//                                             per gene j: db2[j] += sum_g dd, dw2[j (h+1)] += sum_g dd u,
//                                             du[g G + j] = dd w2[j (h+1)]
//   gears_adam       (x0 = p, x1 = g, x2 = m, x3 = v)
//                                             clipped (f4), L2 decay (f5) Adam step, i < u0: betas f0, f1,
//                                             1 - betas f2, f3, eps f6, step size f7, 1/sqrt(bias corr 2) f8
//   gears_renorm     (x0 = e)                 rows (u0 of u1) with L2 norm > f0 scaled by f0 / (norm + 1e-7)
// (for the three per-(g, j) entries: groups u0, G u1, h u2.)

struct Params {
    u0: u32, u1: u32, u2: u32, u3: u32, u4: u32, u5: u32, u6: u32, u7: u32, u8: u32, u9: u32, u10: u32, u11: u32,
    f0: f32, f1: f32, f2: f32, f3: f32, f4: f32, f5: f32, f6: f32, f7: f32, f8: f32, f9: f32, f10: f32, f11: f32,
}

@group(0) @binding(0) var<storage, read_write> x0: array<f32>;
@group(0) @binding(1) var<storage, read_write> x1: array<f32>;
@group(0) @binding(2) var<storage, read_write> x2: array<f32>;
@group(0) @binding(3) var<storage, read_write> x3: array<f32>;
@group(0) @binding(4) var<storage, read_write> x4: array<f32>;
@group(0) @binding(5) var<storage, read_write> x5: array<f32>;
@group(0) @binding(6) var<storage, read> i0: array<u32>;
@group(0) @binding(7) var<storage, read> i1: array<u32>;
@group(0) @binding(8) var<storage, read> i2: array<u32>;
@group(0) @binding(9) var<uniform> p: Params;

var<workgroup> ta: array<f32, 256>;
var<workgroup> tb: array<f32, 256>;

fn gid(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.y * nwg.x + wid.x;
}

fn tid(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return gid(wid, nwg) * 256u + lid;
}

@compute @workgroup_size(256)
fn gears_fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    if (i >= p.u0) { return; }
    x0[p.u1 + i] = p.f0;
}

@compute @workgroup_size(256)
fn gears_axpbyz(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    if (i >= p.u0) { return; }
    var v = p.f0 * x0[p.u1 + i] + p.f1 * x1[p.u2 + i];
    if (p.f2 != 0.0) { v = v + p.f2 * x2[p.u3 + i]; }
    x2[p.u3 + i] = v;
}

@compute @workgroup_size(256)
fn gears_rows_bcast(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    if (i >= p.u0 * p.u1) { return; }
    x1[i] = x0[i % p.u1];
}

fn gemm_a(i: u32, q: u32) -> f32 {
    if (i >= p.u0 || q >= p.u2) { return 0.0; }
    if ((p.u3 & 1u) != 0u) { return x0[p.u7 + q * p.u4 + i]; }
    return x0[p.u7 + i * p.u4 + q];
}

fn gemm_b(q: u32, j: u32) -> f32 {
    if (q >= p.u2 || j >= p.u1) { return 0.0; }
    if ((p.u3 & 2u) != 0u) { return x1[p.u8 + j * p.u5 + q]; }
    return x1[p.u8 + q * p.u5 + j];
}

@compute @workgroup_size(256)
fn gears_gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let tiles_n = (p.u1 + 15u) / 16u;
    let tiles = ((p.u0 + 15u) / 16u) * tiles_n;
    let g = gid(wid, nwg);
    if (g >= tiles) { return; }
    let r = lid / 16u;
    let c = lid % 16u;
    let i = (g / tiles_n) * 16u + r;
    let j = (g % tiles_n) * 16u + c;
    var acc = 0.0;
    for (var q0 = 0u; q0 < p.u2; q0 = q0 + 16u) {
        ta[lid] = gemm_a((g / tiles_n) * 16u + r, q0 + c);
        tb[lid] = gemm_b(q0 + r, (g % tiles_n) * 16u + c);
        workgroupBarrier();
        for (var q = 0u; q < 16u; q = q + 1u) {
            acc = acc + ta[r * 16u + q] * tb[q * 16u + c];
        }
        workgroupBarrier();
    }
    if (i < p.u0 && j < p.u1) {
        let o = p.u9 + i * p.u6 + j;
        var v = p.f0 * acc;
        if (p.f1 != 0.0) { v = v + p.f1 * x2[o]; }
        x2[o] = v;
    }
}

// Sum of ta[0..256] into ta[0] (all invocations must call it).
fn reduce_ta(lid: u32) {
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (lid < s) { ta[lid] = ta[lid] + ta[lid + s]; }
        workgroupBarrier();
    }
}

fn reduce_tb(lid: u32) {
    workgroupBarrier();
    for (var s = 128u; s > 0u; s = s >> 1u) {
        if (lid < s) { tb[lid] = tb[lid] + tb[lid + s]; }
        workgroupBarrier();
    }
}

@compute @workgroup_size(256)
fn gears_colsum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = gid(wid, nwg);
    if (c >= p.u1) { return; }
    var s = 0.0;
    for (var r = lid; r < p.u0; r = r + 256u) { s = s + x0[r * p.u1 + c]; }
    ta[lid] = s;
    reduce_ta(lid);
    if (lid == 0u) { x1[c] = p.f0 * ta[0] + p.f1 * x1[c]; }
}

@compute @workgroup_size(256)
fn gears_bn_stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = gid(wid, nwg);
    if (c >= p.u1) { return; }
    var s = 0.0;
    for (var r = lid; r < p.u0; r = r + 256u) { s = s + x1[r] * x0[r * p.u1 + c]; }
    ta[lid] = s;
    reduce_ta(lid);
    let mean = ta[0] / p.f0;
    var v = 0.0;
    for (var r = lid; r < p.u0; r = r + 256u) {
        let d = x0[r * p.u1 + c] - mean;
        v = v + x1[r] * d * d;
    }
    tb[lid] = v;
    reduce_tb(lid);
    if (lid == 0u) {
        let var_ = tb[0] / p.f0;
        x2[c] = mean;
        x2[p.u1 + c] = var_;
        x2[2u * p.u1 + c] = 1.0 / sqrt(var_ + p.f1);
    }
}

@compute @workgroup_size(256)
fn gears_bn_apply(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    if (i >= p.u0 * p.u1) { return; }
    let c = i % p.u1;
    let istd = x1[2u * p.u1 + c];
    let d = x0[i] - x1[c];
    x4[i] = d * istd;
    var y = d * (x2[c] * istd) + x3[c];
    if (p.u2 == 1u && y < 0.0) { y = 0.0; }
    x5[i] = y;
}

@compute @workgroup_size(256)
fn gears_bn_eval(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    if (i >= p.u0 * p.u1) { return; }
    let c = i % p.u1;
    let s = x3[c] / sqrt(x2[c] + p.f0);
    var y = x0[i] * s + (x4[c] - x1[c] * s);
    if (p.u2 == 1u && y < 0.0) { y = 0.0; }
    x5[i] = y;
}

@compute @workgroup_size(256)
fn gears_bn_running(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = tid(wid, nwg, lid);
    if (c >= p.u1) { return; }
    let keep = 1.0 - p.f0;
    x1[c] = keep * x1[c] + p.f0 * x0[c];
    x2[c] = keep * x2[c] + p.f0 * x0[p.u1 + c] * p.f1;
}

@compute @workgroup_size(256)
fn gears_bn_bwd_reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let c = gid(wid, nwg);
    if (c >= p.u1) { return; }
    var s1 = 0.0;
    var s2 = 0.0;
    for (var r = lid; r < p.u0; r = r + 256u) {
        let d = x0[r * p.u1 + c];
        s1 = s1 + d;
        s2 = s2 + d * x1[r * p.u1 + c];
    }
    ta[lid] = s1;
    tb[lid] = s2;
    reduce_ta(lid);
    reduce_tb(lid);
    if (lid == 0u) {
        x3[c] = x3[c] + ta[0];
        x2[c] = x2[c] + tb[0];
        x4[c] = ta[0];
        x4[p.u1 + c] = tb[0];
    }
}

@compute @workgroup_size(256)
fn gears_bn_bwd_dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    if (i >= p.u0 * p.u1) { return; }
    let c = i % p.u1;
    let w = x2[i / p.u1];
    let a = x4[c] * x3[2u * p.u1 + c];
    let u1 = x5[c] / p.f0;
    let u2 = x5[p.u1 + c] / p.f0;
    x0[i] = a * (x0[i] - w * u1 - w * x1[i] * u2);
}

@compute @workgroup_size(256)
fn gears_relu_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    if (i >= p.u0) { return; }
    if (x1[i] <= 0.0) { x0[i] = 0.0; }
}

@compute @workgroup_size(256)
fn gears_spmm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    if (i >= p.u0 * p.u1) { return; }
    let r = i / p.u1;
    let c = i % p.u1;
    var s = 0.0;
    for (var k = i0[r]; k < i0[r + 1u]; k = k + 1u) {
        s = s + x1[k] * x0[i1[k] * p.u1 + c];
    }
    var v = p.f0 * s;
    if (p.f1 != 0.0) { v = v + p.f1 * x2[i]; }
    x2[i] = v;
}

@compute @workgroup_size(256)
fn gears_grid(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    let gh = p.u1 * p.u2;
    if (i >= p.u0 * gh) { return; }
    let g = i / gh;
    let rest = i % gh;
    let v = i0[2u * g];
    let o = i0[2u * g + 1u];
    var x = x0[v * gh + rest];
    if (o != 0xffffffffu) { x = x + x1[o * p.u2 + rest % p.u2]; }
    x2[i] = x;
}

@compute @workgroup_size(256)
fn gears_indv1_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    if (i >= p.u0 * p.u1) { return; }
    let j = i % p.u1;
    var s = 0.0;
    for (var k = 0u; k < p.u2; k = k + 1u) { s = s + x0[i * p.u2 + k] * x1[j * p.u2 + k]; }
    x3[i] = s + x2[j];
}

@compute @workgroup_size(256)
fn gears_indv1_bwd_w(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    if (i >= p.u1 * p.u2) { return; }
    let j = i / p.u2;
    let k = i % p.u2;
    var s = x2[i];
    var b = 0.0;
    for (var g = 0u; g < p.u0; g = g + 1u) {
        let d = x0[g * p.u1 + j];
        s = s + d * x1[(g * p.u1 + j) * p.u2 + k];
        b = b + d;
    }
    x2[i] = s;
    if (k == 0u) { x3[j] = x3[j] + b; }
}

@compute @workgroup_size(256)
fn gears_indv1_bwd_x(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    if (i >= p.u0 * p.u1 * p.u2) { return; }
    let row = i / p.u2;
    let k = i % p.u2;
    let j = row % p.u1;
    x2[i] = x0[row] * x1[j * p.u2 + k];
}

@compute @workgroup_size(256)
fn gears_indv2_fwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    if (i >= p.u0 * p.u1) { return; }
    let j = i % p.u1;
    x3[i] = x3[i] + (x1[j * (p.u2 + 1u)] * x0[i] + x2[j]);
}

@compute @workgroup_size(256)
fn gears_indv2_bwd(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let j = tid(wid, nwg, lid);
    if (j >= p.u1) { return; }
    let w = x2[j * (p.u2 + 1u)];
    var b = x4[j];
    var s = x3[j * (p.u2 + 1u)];
    for (var g = 0u; g < p.u0; g = g + 1u) {
        let d = x0[g * p.u1 + j];
        b = b + d;
        s = s + d * x1[g * p.u1 + j];
        x5[g * p.u1 + j] = d * w;
    }
    x4[j] = b;
    x3[j * (p.u2 + 1u)] = s;
}

@compute @workgroup_size(256)
fn gears_adam(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = tid(wid, nwg, lid);
    if (i >= p.u0) { return; }
    let w = x0[i];
    var g = clamp(x1[i], -p.f4, p.f4);
    g = g + p.f5 * w;
    let m = p.f0 * x2[i] + p.f2 * g;
    let v = p.f1 * x3[i] + p.f3 * g * g;
    x2[i] = m;
    x3[i] = v;
    x0[i] = w - p.f7 * m / (sqrt(v) * p.f8 + p.f6);
}

@compute @workgroup_size(256)
fn gears_renorm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let r = tid(wid, nwg, lid);
    if (r >= p.u0) { return; }
    var s = 0.0;
    for (var c = 0u; c < p.u1; c = c + 1u) { let v = x0[r * p.u1 + c]; s = s + v * v; }
    let norm = sqrt(s);
    if (norm > p.f0) {
        let sc = p.f0 / (norm + 1e-7);
        for (var c = 0u; c < p.u1; c = c + 1u) { x0[r * p.u1 + c] = x0[r * p.u1 + c] * sc; }
    }
}
