// reach: L-hop frontier expansion over CSR, producing one ball bitset per seed set.
//
// Twin of reach.wgsl: same entry names, same arguments in the same order (the WGSL `params`
// uniform's fields are the trailing scalar arguments here).
// Bitsets are rows of 32-bit words (bit i % 32 of word i / 32 is node i), one row of `words`
// words per seed set, rows back to back. The host seeds `visited` and `frontier` with the seed
// sets, then runs reach_expand_u32 + reach_advance_u32 once per hop; `visited` is the ball.
//
// Arguments:
//   indptr   : CSR row offsets, n_nodes + 1
//   indices  : CSR column indices (row v = nodes one hop from v)
//   frontier : rows of the current frontier
//   visited  : rows of the nodes reached so far (read-only while expanding)
//   next     : rows of the next frontier (zero before expanding; atomicOr target)
//   n_nodes, words, n_rows, pad : the WGSL Params fields
//
// Entries (block size 256, one thread per row word; grid is 2D, flattened as
// block = blockIdx.y * gridDim.x + blockIdx.x, thread = block * 256 + threadIdx.x):
//   reach_expand_u32 (indptr, indices, frontier, visited, next, n_nodes, words, n_rows, pad):
//       next |= neighbours(frontier) & ~visited
//   reach_advance_u32 (frontier, visited, next, n_nodes, words, n_rows, pad):
//       frontier = next & ~visited; visited |= frontier; next = 0

__device__ __forceinline__ unsigned int flat_id() {
    return (blockIdx.y * gridDim.x + blockIdx.x) * 256u + threadIdx.x;
}

extern "C" __global__ void reach_expand_u32(const unsigned int* __restrict__ indptr,
                                            const unsigned int* __restrict__ indices,
                                            const unsigned int* __restrict__ frontier,
                                            const unsigned int* __restrict__ visited,
                                            unsigned int* next,
                                            unsigned int n_nodes, unsigned int words,
                                            unsigned int n_rows, unsigned int pad) {
    unsigned long long t = flat_id();
    if (t >= (unsigned long long)words * n_rows) return;
    unsigned long long row = (t / words) * words;
    unsigned int wi = (unsigned int)(t % words);
    unsigned int f = frontier[t];
    while (f != 0u) {
        unsigned int u = wi * 32u + (unsigned int)(__ffs(f) - 1);
        f &= f - 1u;
        for (unsigned int p = indptr[u]; p < indptr[u + 1u]; ++p) {
            unsigned int w = indices[p];
            unsigned int bit = 1u << (w & 31u);
            unsigned long long k = row + (w >> 5u);
            if ((visited[k] & bit) == 0u) atomicOr(&next[k], bit);
        }
    }
}

extern "C" __global__ void reach_advance_u32(unsigned int* frontier, unsigned int* visited,
                                             unsigned int* next,
                                             unsigned int n_nodes, unsigned int words,
                                             unsigned int n_rows, unsigned int pad) {
    unsigned long long t = flat_id();
    if (t >= (unsigned long long)words * n_rows) return;
    unsigned int nx = next[t] & ~visited[t];
    visited[t] |= nx;
    frontier[t] = nx;
    next[t] = 0u;
}
