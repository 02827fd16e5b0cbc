// jaccard: candidate pairs of the GO graph builder (`graphreach graph build`). For each target
// gene of a tile, the intersection counts |GO(s) ∩ GO(t)| against every source s (through the
// term -> gene postings), then the integer threshold test `count >= need[|GO(s)| + |GO(t)|]`
// (host `ThresholdTable`); the passing (source, count) pairs are written, in no particular order,
// to the target's output slot. The host turns them into the exact top-(k+1) rows. Integers only,
// so every backend agrees bit for bit.
//
// Twin of jaccard.wgsl: same entry name, same arguments in the same order, then the `Params`
// struct (the WGSL uniform, same layout; `JaccardParams` in src/backend/source.rs) by value as the
// last argument. kernels/common.cuh is put in front of this file at load time.
//
// Arguments:
//   genes   : gene CSR packed: gene_ptr (n_genes + 1) then gene_terms
//   terms   : term CSR packed: term_ptr (n_terms + 1) then term_genes
//   need    : smallest passing count per size sum (0xffffffff: none passes)
//   out_off : n_targets + 1: first pair slot of each target of the tile
//   counts  : n_targets rows of n_genes counters; zero on entry and on exit
//   n_out   : n_targets: pairs written per target (zero on entry)
//   out     : 2 per pair slot: (source, count)
//   p       : Params { first_target, n_targets, n_genes, n_terms }
//
// Entry (block size 256; grid 2D, flattened by flat_block()):
//   jaccard_candidates_u32 (genes, terms, need, out_off, counts, n_out, out, p)
//       one block per target `first_target + block`. Pass 1 adds 1 to counts[s] for every
//       posting s of every term of the target; after __syncthreads, pass 2 walks the same postings
//       and takes each counter with an atomic exchange against 0, so exactly one thread sees a
//       source's full count (and the row is zero again for the next launch). The host sizes a
//       target's slot as min(sum of its postings' lengths, n_genes), a bound on its distinct sources.

struct Params {
    u32 first_target, n_targets, n_genes, n_terms;
};

extern "C" __global__ void jaccard_candidates_u32(const unsigned int* __restrict__ genes,
                                                  const unsigned int* __restrict__ terms,
                                                  const unsigned int* __restrict__ need,
                                                  const unsigned int* __restrict__ out_off,
                                                  unsigned int* counts,
                                                  unsigned int* n_out,
                                                  unsigned int* out, const Params p) {
    unsigned int g = flat_block();
    if (g >= p.n_targets) return;
    unsigned int t = p.first_target + g;
    unsigned int gene_base = p.n_genes + 1u;
    unsigned int term_base = p.n_terms + 1u;
    unsigned int* row = counts + (unsigned long long)g * p.n_genes;
    unsigned int t_begin = genes[t];
    unsigned int t_end = genes[t + 1u];
    unsigned int size_t_ = t_end - t_begin;
    for (unsigned int k = t_begin; k < t_end; ++k) {
        unsigned int term = genes[gene_base + k];
        unsigned int p_end = terms[term + 1u];
        for (unsigned int j = terms[term] + threadIdx.x; j < p_end; j += 256u) {
            atomicAdd(&row[terms[term_base + j]], 1u);
        }
    }
    __syncthreads();
    unsigned int slot0 = out_off[g];
    for (unsigned int k = t_begin; k < t_end; ++k) {
        unsigned int term = genes[gene_base + k];
        unsigned int p_end = terms[term + 1u];
        for (unsigned int j = terms[term] + threadIdx.x; j < p_end; j += 256u) {
            unsigned int s = terms[term_base + j];
            unsigned int c = atomicExch(&row[s], 0u);
            if (c != 0u) {
                unsigned int size_s = genes[s + 1u] - genes[s];
                if (c >= need[size_s + size_t_]) {
                    unsigned long long at = 2ull * (slot0 + atomicAdd(&n_out[g], 1u));
                    out[at] = s;
                    out[at + 1ull] = c;
                }
            }
        }
    }
}
