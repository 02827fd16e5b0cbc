// spmv: batched power iteration for the spectral norm of M[S, S], M = D^-1/2 (A + I) D^-1/2,
// for a batch of node sets S in one launch (one block per set).
//
// Twin of spmv.wgsl: same entry names, same arguments in the same order, then the `Params`
// struct (the WGSL uniform, same layout; `SpmvParams` in src/backend/source.rs, whose trailing
// padding the kernel does not read) by value as the last argument. kernels/common.cuh is put in
// front of this file at load time.
// Each iteration is two CSR SpMVs restricted to S (y = M[S,S] x as a gather over the rows of A,
// z = M[S,S]^T y as a gather over the rows of A^T, so no float atomics are needed), then the
// dot product x.z (= sigma^2 for unit x) and the norm |z|, reduced in shared memory, and
// x = z / |z|. Stops when sigma changes by at most `tol` relative (after the first iteration),
// when z = 0 (sigma = 0), or after `max_iter` iterations. One launch runs at most `iters`
// iterations and leaves its state in `out` and `work`; the host relaunches until every set has
// stopped (short launches keep clear of driver watchdogs). f32 throughout: MaxSpec re-checks the
// candidates near the best on the CPU in f64 (see select::maxspec).
//
// Arguments:
//   adj    : A (0/1, no diagonal): row offsets (n_nodes + 1) then column indices
//   adjt   : A^T in the same layout
//   dinv   : 1 / sqrt(deg + 1) per node
//   sets   : set offsets (n_sets + 1, into the member part) then sorted members
//   work   : x | y | z, each `total` long, indexed like the members; x holds the (unit) start
//            vector on entry and the singular vector on exit
//   out    : 3 per set: sigma (f32 bits), iterations, state (0 running, 1 converged, 2 stopped at
//            max_iter); all zero before the first launch
//   p      : Params { n_nodes, n_sets, total, max_iter, tol, iters }
//
// Entry (block size 256; grid 2D, flattened by flat_block()):
//   spmv_power_f32 (adj, adjt, dinv, sets, work, out, p)

struct Params {
    u32 n_nodes, n_sets, total, max_iter;
    float tol;
    u32 iters;
};

__device__ unsigned int find_member(const unsigned int* sets, unsigned int c, unsigned int lo, unsigned int hi) {
    while (lo < hi) {
        unsigned int m = (lo + hi) / 2u;
        unsigned int v = sets[m];
        if (v == c) return m;
        if (v < c) lo = m + 1u; else hi = m;
    }
    return 0xffffffffu;
}

extern "C" __global__ void spmv_power_f32(const unsigned int* __restrict__ adj,
                                          const unsigned int* __restrict__ adjt,
                                          const float* __restrict__ dinv,
                                          const unsigned int* __restrict__ sets,
                                          float* work, unsigned int* out, const Params p) {
    __shared__ float red_a[256];
    __shared__ float red_b[256];
    __shared__ float scale;
    __shared__ unsigned int stop;
    const u32 n_sets = p.n_sets, total = p.total;
    unsigned int g = flat_block();
    if (g >= n_sets) return;
    if (out[3u * g + 2u] != 0u) return;  // stopped in an earlier launch
    unsigned int l = threadIdx.x;
    unsigned int base = n_sets + 1u;
    unsigned int a = sets[g];
    unsigned int k = sets[g + 1u] - a;
    unsigned int tdx = p.n_nodes + 1u;
    float* x = work + a;
    float* y = work + total + a;
    float* z = work + 2ull * total + a;
    if (k == 0u) {
        if (l == 0u) {
            out[3u * g] = __float_as_uint(0.0f);
            out[3u * g + 1u] = 0u;
            out[3u * g + 2u] = 1u;
        }
        return;
    }
    float sigma = __uint_as_float(out[3u * g]);
    unsigned int it = out[3u * g + 1u], state = 0u, here = 0u;
    for (;;) {
        ++it;
        ++here;
        for (unsigned int r = l; r < k; r += 256u) {
            unsigned int v = sets[base + a + r];
            float dv = dinv[v];
            float acc = dv * dv * x[r];
            for (unsigned int e = adj[v]; e < adj[v + 1u]; ++e) {
                unsigned int c = adj[tdx + e];
                unsigned int j = find_member(sets, c, base + a, base + a + k);
                if (j != 0xffffffffu) acc += dv * dinv[c] * x[j - base - a];
            }
            y[r] = acc;
        }
        __syncthreads();
        float dot = 0.0f, nz = 0.0f;
        for (unsigned int r = l; r < k; r += 256u) {
            unsigned int c = sets[base + a + r];
            float dc = dinv[c];
            float acc = dc * dc * y[r];
            for (unsigned int e = adjt[c]; e < adjt[c + 1u]; ++e) {
                unsigned int rr = adjt[tdx + e];
                unsigned int j = find_member(sets, rr, base + a, base + a + k);
                if (j != 0xffffffffu) acc += dinv[rr] * dc * y[j - base - a];
            }
            z[r] = acc;
            dot += x[r] * acc;
            nz += acc * acc;
        }
        red_a[l] = dot;
        red_b[l] = nz;
        block_sum(red_a);
        block_sum(red_b);
        if (l == 0u) {
            float new_sigma = sqrtf(fmaxf(red_a[0], 0.0f));
            float zn = sqrtf(red_b[0]);
            if (zn == 0.0f) {
                sigma = 0.0f;
                state = 1u;
                scale = 0.0f;
            } else {
                scale = 1.0f / zn;
                bool done = fabsf(new_sigma - sigma) <= p.tol * new_sigma;
                sigma = new_sigma;
                if (done && it > 1u) state = 1u;
            }
            if (state == 0u && it >= p.max_iter) state = 2u;
            stop = (state != 0u || here >= p.iters) ? 1u : 0u;
        }
        __syncthreads();
        float sc = scale;
        if (sc != 0.0f) {
            for (unsigned int r = l; r < k; r += 256u) x[r] = z[r] * sc;
        }
        __syncthreads();
        if (stop != 0u) break;
    }
    if (l == 0u) {
        out[3u * g] = __float_as_uint(sigma);
        out[3u * g + 1u] = it;
        out[3u * g + 2u] = state;
    }
}
