// gears: the ops of the GEARS trainer (src/gears/device) on f32 row-major buffers.
//
// Twin of gears.wgsl: same entry names, same arguments in the same order, then the `Params`
// struct (the WGSL uniform, same layout) by value as the last argument. kernels/common.cuh
// (u32, flat_block, flat_thread, block_sum) is put in front of this file at load time.
// Every entry reads and writes only the bindings listed for it; x0..x5 are float buffers,
// i0..i2 unsigned int index buffers; a buffer is never passed twice to one launch (in-place
// updates go through a single argument). Params fields are generic: u0..u11
// (u32) and f0..f11 (f32), their meaning per entry below. Grids are 2D, flattened as
// flat_block(); block size 256 everywhere.
//
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

// (The CUDA trainer runs its GEMMs through cuBLAS; gears_gemm is kept as the twin of the WGSL
// entry and as a fallback.)

struct Params {
    unsigned int u0, u1, u2, u3, u4, u5, u6, u7, u8, u9, u10, u11;
    float f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11;
};


extern "C" __global__ void gears_fill(float* x0, const Params p) {
    u32 i = flat_thread();
    if (i >= p.u0) return;
    x0[p.u1 + i] = p.f0;
}

extern "C" __global__ void gears_axpbyz(float* x0, float* x1, float* x2, const Params p) {
    u32 i = flat_thread();
    if (i >= p.u0) return;
    float v = p.f0 * x0[p.u1 + i] + p.f1 * x1[p.u2 + i];
    if (p.f2 != 0.0f) v += p.f2 * x2[p.u3 + i];
    x2[p.u3 + i] = v;
}

extern "C" __global__ void gears_rows_bcast(float* x0, float* x1, const Params p) {
    u32 i = flat_thread();
    if (i >= p.u0 * p.u1) return;
    x1[i] = x0[i % p.u1];
}

__device__ __forceinline__ float gemm_a(const float* a, const Params& p, u32 i, u32 q) {
    if (i >= p.u0 || q >= p.u2) return 0.0f;
    return (p.u3 & 1u) ? a[p.u7 + q * p.u4 + i] : a[p.u7 + i * p.u4 + q];
}

__device__ __forceinline__ float gemm_b(const float* b, const Params& p, u32 q, u32 j) {
    if (q >= p.u2 || j >= p.u1) return 0.0f;
    return (p.u3 & 2u) ? b[p.u8 + j * p.u5 + q] : b[p.u8 + q * p.u5 + j];
}

extern "C" __global__ void gears_gemm(float* x0, float* x1, float* x2, const Params p) {
    __shared__ float ta[256];
    __shared__ float tb[256];
    u32 tiles_n = (p.u1 + 15u) / 16u;
    u32 tiles = ((p.u0 + 15u) / 16u) * tiles_n;
    u32 g = flat_block();
    if (g >= tiles) return;
    u32 lid = threadIdx.x, r = lid / 16u, c = lid % 16u;
    u32 i = (g / tiles_n) * 16u + r, j = (g % tiles_n) * 16u + c;
    float acc = 0.0f;
    for (u32 q0 = 0u; q0 < p.u2; q0 += 16u) {
        ta[lid] = gemm_a(x0, p, (g / tiles_n) * 16u + r, q0 + c);
        tb[lid] = gemm_b(x1, p, q0 + r, (g % tiles_n) * 16u + c);
        __syncthreads();
        for (u32 q = 0u; q < 16u; ++q) acc += ta[r * 16u + q] * tb[q * 16u + c];
        __syncthreads();
    }
    if (i < p.u0 && j < p.u1) {
        u32 o = p.u9 + i * p.u6 + j;
        float v = p.f0 * acc;
        if (p.f1 != 0.0f) v += p.f1 * x2[o];
        x2[o] = v;
    }
}

extern "C" __global__ void gears_colsum(float* x0, float* x1, const Params p) {
    __shared__ float ta[256];
    u32 c = flat_block();
    if (c >= p.u1) return;
    float s = 0.0f;
    for (u32 r = threadIdx.x; r < p.u0; r += 256u) s += x0[r * p.u1 + c];
    ta[threadIdx.x] = s;
    block_sum(ta);
    if (threadIdx.x == 0u) x1[c] = p.f0 * ta[0] + p.f1 * x1[c];
}

extern "C" __global__ void gears_bn_stats(float* x0, float* x1, float* x2, const Params p) {
    __shared__ float ta[256];
    __shared__ float tb[256];
    u32 c = flat_block();
    if (c >= p.u1) return;
    float s = 0.0f;
    for (u32 r = threadIdx.x; r < p.u0; r += 256u) s += x1[r] * x0[r * p.u1 + c];
    ta[threadIdx.x] = s;
    block_sum(ta);
    float mean = ta[0] / p.f0;
    float v = 0.0f;
    for (u32 r = threadIdx.x; r < p.u0; r += 256u) {
        float d = x0[r * p.u1 + c] - mean;
        v += x1[r] * d * d;
    }
    tb[threadIdx.x] = v;
    block_sum(tb);
    if (threadIdx.x == 0u) {
        float var_ = tb[0] / p.f0;
        x2[c] = mean;
        x2[p.u1 + c] = var_;
        x2[2u * p.u1 + c] = 1.0f / sqrtf(var_ + p.f1);
    }
}

extern "C" __global__ void gears_bn_apply(float* x0, float* x1, float* x2, float* x3, float* x4, float* x5, const Params p) {
    u32 i = flat_thread();
    if (i >= p.u0 * p.u1) return;
    u32 c = i % p.u1;
    float istd = x1[2u * p.u1 + c];
    float d = x0[i] - x1[c];
    x4[i] = d * istd;
    float y = d * (x2[c] * istd) + x3[c];
    if (p.u2 == 1u && y < 0.0f) y = 0.0f;
    x5[i] = y;
}

extern "C" __global__ void gears_bn_eval(float* x0, float* x1, float* x2, float* x3, float* x4, float* x5, const Params p) {
    u32 i = flat_thread();
    if (i >= p.u0 * p.u1) return;
    u32 c = i % p.u1;
    float s = x3[c] / sqrtf(x2[c] + p.f0);
    float y = x0[i] * s + (x4[c] - x1[c] * s);
    if (p.u2 == 1u && y < 0.0f) y = 0.0f;
    x5[i] = y;
}

extern "C" __global__ void gears_bn_running(float* x0, float* x1, float* x2, const Params p) {
    u32 c = flat_thread();
    if (c >= p.u1) return;
    float keep = 1.0f - p.f0;
    x1[c] = keep * x1[c] + p.f0 * x0[c];
    x2[c] = keep * x2[c] + p.f0 * x0[p.u1 + c] * p.f1;
}

extern "C" __global__ void gears_bn_bwd_reduce(float* x0, float* x1, float* x2, float* x3, float* x4, const Params p) {
    __shared__ float ta[256];
    __shared__ float tb[256];
    u32 c = flat_block();
    if (c >= p.u1) return;
    float s1 = 0.0f, s2 = 0.0f;
    for (u32 r = threadIdx.x; r < p.u0; r += 256u) {
        float d = x0[r * p.u1 + c];
        s1 += d;
        s2 += d * x1[r * p.u1 + c];
    }
    ta[threadIdx.x] = s1;
    tb[threadIdx.x] = s2;
    block_sum(ta);
    block_sum(tb);
    if (threadIdx.x == 0u) {
        x3[c] += ta[0];
        x2[c] += tb[0];
        x4[c] = ta[0];
        x4[p.u1 + c] = tb[0];
    }
}

extern "C" __global__ void gears_bn_bwd_dx(float* x0, float* x1, float* x2, float* x3, float* x4, float* x5, const Params p) {
    u32 i = flat_thread();
    if (i >= p.u0 * p.u1) return;
    u32 c = i % p.u1;
    float w = x2[i / p.u1];
    float a = x4[c] * x3[2u * p.u1 + c];
    float u1 = x5[c] / p.f0;
    float u2 = x5[p.u1 + c] / p.f0;
    x0[i] = a * (x0[i] - w * u1 - w * x1[i] * u2);
}

extern "C" __global__ void gears_relu_bwd(float* x0, float* x1, const Params p) {
    u32 i = flat_thread();
    if (i >= p.u0) return;
    if (x1[i] <= 0.0f) x0[i] = 0.0f;
}

extern "C" __global__ void gears_spmm(float* x0, float* x1, float* x2, const u32* i0, const u32* i1, const Params p) {
    u32 i = flat_thread();
    if (i >= p.u0 * p.u1) return;
    u32 r = i / p.u1, c = i % p.u1;
    float s = 0.0f;
    for (u32 k = i0[r]; k < i0[r + 1u]; ++k) s += x1[k] * x0[i1[k] * p.u1 + c];
    float v = p.f0 * s;
    if (p.f1 != 0.0f) v += p.f1 * x2[i];
    x2[i] = v;
}

extern "C" __global__ void gears_grid(float* x0, float* x1, float* x2, const u32* i0, const Params p) {
    u32 i = flat_thread();
    u32 gh = p.u1 * p.u2;
    if (i >= p.u0 * gh) return;
    u32 g = i / gh, rest = i % gh;
    u32 v = i0[2u * g], o = i0[2u * g + 1u];
    float x = x0[v * gh + rest];
    if (o != 0xffffffffu) x += x1[o * p.u2 + rest % p.u2];
    x2[i] = x;
}

extern "C" __global__ void gears_indv1_fwd(float* x0, float* x1, float* x2, float* x3, const Params p) {
    u32 i = flat_thread();
    if (i >= p.u0 * p.u1) return;
    u32 j = i % p.u1;
    float s = 0.0f;
    for (u32 k = 0u; k < p.u2; ++k) s += x0[i * p.u2 + k] * x1[j * p.u2 + k];
    x3[i] = s + x2[j];
}

extern "C" __global__ void gears_indv1_bwd_w(float* x0, float* x1, float* x2, float* x3, const Params p) {
    u32 i = flat_thread();
    if (i >= p.u1 * p.u2) return;
    u32 j = i / p.u2, k = i % p.u2;
    float s = x2[i], b = 0.0f;
    for (u32 g = 0u; g < p.u0; ++g) {
        float d = x0[g * p.u1 + j];
        s += d * x1[(g * p.u1 + j) * p.u2 + k];
        b += d;
    }
    x2[i] = s;
    if (k == 0u) x3[j] += b;
}

extern "C" __global__ void gears_indv1_bwd_x(float* x0, float* x1, float* x2, const Params p) {
    u32 i = flat_thread();
    if (i >= p.u0 * p.u1 * p.u2) return;
    u32 row = i / p.u2, k = i % p.u2, j = row % p.u1;
    x2[i] = x0[row] * x1[j * p.u2 + k];
}

extern "C" __global__ void gears_indv2_fwd(float* x0, float* x1, float* x2, float* x3, const Params p) {
    u32 i = flat_thread();
    if (i >= p.u0 * p.u1) return;
    u32 j = i % p.u1;
    x3[i] += x1[j * (p.u2 + 1u)] * x0[i] + x2[j];
}

extern "C" __global__ void gears_indv2_bwd(float* x0, float* x1, float* x2, float* x3, float* x4, float* x5, const Params p) {
    u32 j = flat_thread();
    if (j >= p.u1) return;
    float w = x2[j * (p.u2 + 1u)];
    float b = x4[j], s = x3[j * (p.u2 + 1u)];
    for (u32 g = 0u; g < p.u0; ++g) {
        float d = x0[g * p.u1 + j];
        b += d;
        s += d * x1[g * p.u1 + j];
        x5[g * p.u1 + j] = d * w;
    }
    x4[j] = b;
    x3[j * (p.u2 + 1u)] = s;
}

extern "C" __global__ void gears_adam(float* x0, float* x1, float* x2, float* x3, const Params p) {
    u32 i = flat_thread();
    if (i >= p.u0) return;
    float w = x0[i];
    float g = fminf(fmaxf(x1[i], -p.f4), p.f4);
    g += p.f5 * w;
    float m = p.f0 * x2[i] + p.f2 * g;
    float v = p.f1 * x3[i] + p.f3 * g * g;
    x2[i] = m;
    x3[i] = v;
    x0[i] = w - p.f7 * m / (sqrtf(v) * p.f8 + p.f6);
}

extern "C" __global__ void gears_renorm(float* x0, const Params p) {
    u32 r = flat_thread();
    if (r >= p.u0) return;
    float s = 0.0f;
    for (u32 c = 0u; c < p.u1; ++c) { float v = x0[r * p.u1 + c]; s += v * v; }
    float norm = sqrtf(s);
    if (norm > p.f0) {
        float sc = p.f0 / (norm + 1e-7f);
        for (u32 c = 0u; c < p.u1; ++c) x0[r * p.u1 + c] *= sc;
    }
}
