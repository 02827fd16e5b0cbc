// gains: batched marginal gains of candidate balls against a covered bitset, and the
// covered-set update when a ball is committed.
//
// Twin of gains.wgsl: same entry names, same arguments in the same order, then the `Params`
// struct (the WGSL uniform, same layout; `GainsParams` in src/backend/source.rs) by value as the
// last argument. kernels/common.cuh is put in front of this file at load time.
// Words are 32-bit (bit i % 32 of word i / 32 is node i). A gain is the number of ball members
// not yet covered, or with `weighted` != 0 the sum of their fixed-point weights; gains are exact
// 64-bit integers written as (lo, hi) 32-bit pairs, the layout the WGSL twin uses.
//
// Arguments:
//   sets    : dense: rows of `words` words; sparse: sorted member lists
//   offsets : sparse only: start of each list in `sets`, n_sets + 1
//   covered : covered bitset, `words` words
//   weights : per-node fixed-point weights (1 element when unweighted)
//   ids     : balls (rows / lists) to evaluate
//   out     : 2 * n_ids: gain of ids[k] as (lo, hi) at 2k, 2k+1
//   p       : Params { words, n_ids, weighted, commit_id }
//
// Entries (block size 256; grid 2D, flattened by flat_block()):
//   gains_dense_u32  (sets, covered, weights, ids, out, p)
//   gains_sparse_u32 (sets, offsets, covered, weights, ids, out, p)
//       one block per id
//   commit_dense_u32  (sets, covered, p)           one thread per word
//   commit_sparse_u32 (sets, offsets, covered, p)  one thread per member

struct Params {
    u32 words, n_ids, weighted, commit_id;
};

// Block-wide sum; thread 0 writes the (lo, hi) pair for id slot g.
__device__ void reduce_and_store(unsigned long long acc, unsigned int g, unsigned int* out) {
    __shared__ unsigned long long red[256];
    unsigned int l = threadIdx.x;
    red[l] = acc;
    block_sum(red);
    if (l == 0u) {
        out[2u * g] = (unsigned int)(red[0] & 0xffffffffull);
        out[2u * g + 1u] = (unsigned int)(red[0] >> 32);
    }
}

__device__ __forceinline__ unsigned long long word_gain(unsigned int m, unsigned int wi,
                                                        const unsigned int* weights,
                                                        unsigned int weighted) {
    if (weighted == 0u) return (unsigned long long)__popc(m);
    unsigned long long r = 0ull;
    while (m != 0u) {
        r += weights[wi * 32u + (unsigned int)(__ffs(m) - 1)];
        m &= m - 1u;
    }
    return r;
}

extern "C" __global__ void gains_dense_u32(const unsigned int* __restrict__ sets,
                                           const unsigned int* __restrict__ covered,
                                           const unsigned int* __restrict__ weights,
                                           const unsigned int* __restrict__ ids,
                                           unsigned int* out, const Params p) {
    unsigned int g = flat_block();
    if (g >= p.n_ids) return;
    unsigned long long base = (unsigned long long)ids[g] * p.words;
    unsigned long long acc = 0ull;
    for (unsigned int w = threadIdx.x; w < p.words; w += 256u) {
        acc += word_gain(sets[base + w] & ~covered[w], w, weights, p.weighted);
    }
    reduce_and_store(acc, g, out);
}

extern "C" __global__ void gains_sparse_u32(const unsigned int* __restrict__ sets,
                                            const unsigned int* __restrict__ offsets,
                                            const unsigned int* __restrict__ covered,
                                            const unsigned int* __restrict__ weights,
                                            const unsigned int* __restrict__ ids,
                                            unsigned int* out, const Params p) {
    unsigned int g = flat_block();
    if (g >= p.n_ids) return;
    unsigned int id = ids[g];
    unsigned long long acc = 0ull;
    for (unsigned int e = offsets[id] + threadIdx.x; e < offsets[id + 1u]; e += 256u) {
        unsigned int v = sets[e];
        if ((covered[v >> 5] & (1u << (v & 31u))) == 0u) acc += p.weighted ? weights[v] : 1u;
    }
    reduce_and_store(acc, g, out);
}

extern "C" __global__ void commit_dense_u32(const unsigned int* __restrict__ sets, unsigned int* covered,
                                            const Params p) {
    unsigned int t = flat_thread();
    if (t >= p.words) return;
    unsigned int m = sets[(unsigned long long)p.commit_id * p.words + t];
    if (m != 0u) atomicOr(&covered[t], m);
}

extern "C" __global__ void commit_sparse_u32(const unsigned int* __restrict__ sets,
                                             const unsigned int* __restrict__ offsets,
                                             unsigned int* covered, const Params p) {
    unsigned int t = flat_thread();
    unsigned int start = offsets[p.commit_id];
    if (t >= offsets[p.commit_id + 1u] - start) return;
    unsigned int v = sets[start + t];
    atomicOr(&covered[v >> 5], 1u << (v & 31u));
}
