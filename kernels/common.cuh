// common.cuh: the helpers every kernels/*.cu shares. NVRTC is given no include path, so the loader
// (`Family::cuda_source` in src/backend/source.rs) puts this file in front of each .cu before
// compiling it, with `#line` directives so compile errors name the right file and line. To compile
// a .cu by hand: `nvcc -include kernels/common.cuh -ptx kernels/reach.cu`.
//
// Every entry runs blocks of 256 threads on a 2D grid (the host splits large launches into
// x * y blocks, each dimension at most 65535; `gpu_plan::grid`), flattened here.

typedef unsigned int u32;

// The flattened block id: blockIdx.y * gridDim.x + blockIdx.x.
__device__ __forceinline__ u32 flat_block() { return blockIdx.y * gridDim.x + blockIdx.x; }

// The flattened thread id: flat_block() * 256 + threadIdx.x.
__device__ __forceinline__ u32 flat_thread() { return flat_block() * 256u + threadIdx.x; }

// Tree sum of s[0..256] into s[0] (shared memory). Every thread of the block calls it after
// writing its own slot s[threadIdx.x]; the same pairing order on every call.
template <typename T>
__device__ void block_sum(T* s) {
    __syncthreads();
    for (u32 k = 128u; k > 0u; k >>= 1) {
        if (threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k];
        __syncthreads();
    }
}
