// Shared by every Tandem kernel source (prepended before compiling; NVRTC gets no include paths).
// Kernels are self-contained CUDA C++: no headers, no warp intrinsics (so a CPU emulator can run them in tests),
// extern "C" names (so cuModuleGetFunction finds them), and a grid-stride loop where one thread per element is the
// shape of the work, so that any grid size covers any n.
#define TANDEM_GRID_STRIDE(i, n) \
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (long long) blockDim.x * gridDim.x)

// Block-wide sum of v into every thread's return value. blockDim.x must be a power of two <= 1024; every thread of
// the block must call it (it synchronises).
__device__ __forceinline__ float tandem_block_sum(float v, float* scratch) {
    scratch[threadIdx.x] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            scratch[threadIdx.x] += scratch[threadIdx.x + s];
        }
        __syncthreads();
    }
    float total = scratch[0];
    __syncthreads();
    return total;
}
