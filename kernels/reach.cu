// reach: L-hop frontier expansion over CSR, producing one ball bitset per seed set, and the
// compaction of ball bitsets into sorted member lists.
//
// Twin of reach.wgsl: same entry names, same arguments in the same order, then the `Params`
// struct (the WGSL uniform, same layout; `ReachParams` in src/backend/source.rs) by value as the
// last argument. kernels/common.cuh is put in front of this file at load time.
// Bitsets are rows of 32-bit words (bit i % 32 of word i / 32 is node i), one row of `words`
// words per seed set, rows back to back. The host seeds `visited` and `frontier` with the seed
// sets, then runs reach_expand_u32 + reach_advance_u32 once per hop; `visited` is the ball.
// For sparse balls the host then runs reach_count_u32 (members per row), turns the counts into
// launch-local offsets, and runs reach_compact_u32 over groups of rows whose lists fit the
// members buffer; each row's members come out ascending, as the CPU twin lists them.
//
// Arguments:
//   indptr   : CSR row offsets, n_nodes + 1
//   indices  : CSR column indices (row v = nodes one hop from v)
//   frontier : rows of the current frontier
//   visited  : rows of the nodes reached so far (read-only while expanding)
//   next     : rows of the next frontier (zero before expanding; atomicOr target)
//   offsets  : reach_count_u32: members per row (n_rows); reach_compact_u32: the launch's
//              exclusive offsets into `members` (n_rows + 1, starting at 0)
//   members  : member ids of the launch's rows, back to back
//   p        : Params { n_nodes, words, n_rows, first_row } (first_row: the tile row that the
//              launch's row 0 is; 0 for the other entries)
//
// Entries (block size 256; grid 2D, flattened by flat_block()):
//   reach_expand_u32 (indptr, indices, frontier, visited, next, p):
//       one thread per row word (thread = block * 256 + threadIdx.x):
//       next |= neighbours(frontier) & ~visited
//   reach_advance_u32 (frontier, visited, next, p):
//       one thread per row word: frontier = next & ~visited; visited |= frontier; next = 0
//   reach_count_u32 (visited, offsets, p):
//       one block per row: offsets[row] = popcount(visited row)
//   reach_compact_u32 (visited, offsets, members, p):
//       one block per row k of the launch (tile row first_row + k): the set bits of the row,
//       ascending, to members[offsets[k]..offsets[k + 1]] (each thread owns ceil(words / 256)
//       consecutive words; one block-wide scan of their popcounts)

struct Params {
    u32 n_nodes, words, n_rows, first_row;
};

extern "C" __global__ void reach_expand_u32(const unsigned int* __restrict__ indptr,
                                            const unsigned int* __restrict__ indices,
                                            const unsigned int* __restrict__ frontier,
                                            const unsigned int* __restrict__ visited,
                                            unsigned int* next, const Params p) {
    const u32 words = p.words;
    unsigned long long t = flat_thread();
    if (t >= (unsigned long long)words * p.n_rows) return;
    unsigned long long row = (t / words) * words;
    unsigned int wi = (unsigned int)(t % words);
    unsigned int f = frontier[t];
    while (f != 0u) {
        unsigned int u = wi * 32u + (unsigned int)(__ffs(f) - 1);
        f &= f - 1u;
        for (unsigned int e = indptr[u]; e < indptr[u + 1u]; ++e) {
            unsigned int w = indices[e];
            unsigned int bit = 1u << (w & 31u);
            unsigned long long k = row + (w >> 5u);
            if ((visited[k] & bit) == 0u) atomicOr(&next[k], bit);
        }
    }
}

extern "C" __global__ void reach_advance_u32(unsigned int* frontier, unsigned int* visited,
                                             unsigned int* next, const Params p) {
    unsigned long long t = flat_thread();
    if (t >= (unsigned long long)p.words * p.n_rows) return;
    unsigned int nx = next[t] & ~visited[t];
    visited[t] |= nx;
    frontier[t] = nx;
    next[t] = 0u;
}

extern "C" __global__ void reach_count_u32(const unsigned int* __restrict__ visited,
                                           unsigned int* offsets, const Params p) {
    __shared__ unsigned int part[256];
    unsigned int r = flat_block();
    if (r >= p.n_rows) return;
    const u32 words = p.words;
    const unsigned int* row = visited + (unsigned long long)(p.first_row + r) * words;
    unsigned int c = 0u;
    for (unsigned int wi = threadIdx.x; wi < words; wi += 256u) c += __popc(row[wi]);
    part[threadIdx.x] = c;
    block_sum(part);
    if (threadIdx.x == 0u) offsets[r] = part[0];
}

extern "C" __global__ void reach_compact_u32(const unsigned int* __restrict__ visited,
                                             const unsigned int* __restrict__ offsets,
                                             unsigned int* members, const Params p) {
    __shared__ unsigned int scan[256];
    unsigned int r = flat_block();
    if (r >= p.n_rows) return;
    const u32 words = p.words;
    const unsigned int* row = visited + (unsigned long long)(p.first_row + r) * words;
    // Thread t owns the consecutive words [lo, hi) of the row.
    unsigned int seg = (words + 255u) / 256u;
    unsigned int lo = min(threadIdx.x * seg, words);
    unsigned int hi = min(lo + seg, words);
    unsigned int c = 0u;
    for (unsigned int wi = lo; wi < hi; ++wi) c += __popc(row[wi]);
    scan[threadIdx.x] = c;
    __syncthreads();
    // Inclusive Hillis-Steele scan of the 256 segment popcounts.
    for (unsigned int off = 1u; off < 256u; off <<= 1u) {
        unsigned int v = threadIdx.x >= off ? scan[threadIdx.x - off] : 0u;
        __syncthreads();
        scan[threadIdx.x] += v;
        __syncthreads();
    }
    unsigned int at = offsets[r] + scan[threadIdx.x] - c;
    for (unsigned int wi = lo; wi < hi; ++wi) {
        unsigned int w = row[wi];
        while (w != 0u) {
            members[at++] = wi * 32u + (unsigned int)(__ffs(w) - 1);
            w &= w - 1u;
        }
    }
}
