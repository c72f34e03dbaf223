/*
 * A CPU emulator of the CUDA execution model, just enough to run Tandem's kernels in tests on machines without a
 * GPU: each block runs on its own std::threads (blockDim of them), __syncthreads is a std::barrier, __shared__
 * variables are function statics (blocks run one after another, so a static is one block's shared memory), and
 * threadIdx is thread_local. Kernels that use warp intrinsics, atomics or dynamic shared memory do not run here.
 *
 * The generated translation unit includes this file, then each kernel source inside its own namespace, then one
 * emu_<kernel>(grid, block, void** params) wrapper per kernel taking cuLaunchKernel's parameter array.
 */
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

struct uint3 { unsigned int x, y, z; };
struct dim3 { unsigned int x, y, z; };

namespace emu {
inline thread_local uint3 thread_index;
inline uint3 block_index;
inline dim3 block_dim;
inline dim3 grid_dim;
inline std::barrier<>* block_barrier = nullptr;

template <class F>
void launch(dim3 grid, dim3 block, F body) {
    grid_dim = grid;
    block_dim = block;
    unsigned int threads = block.x * block.y * block.z;
    for (unsigned int z = 0; z < grid.z; z++) {
        for (unsigned int y = 0; y < grid.y; y++) {
            for (unsigned int x = 0; x < grid.x; x++) {
                block_index = uint3{x, y, z};
                std::barrier<> barrier(threads);
                block_barrier = &barrier;
                std::vector<std::thread> pool;
                pool.reserve(threads);
                for (unsigned int t = 0; t < threads; t++) {
                    pool.emplace_back([&, t] {
                        thread_index = uint3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
                        body();
                    });
                }
                for (auto& th : pool) th.join();
                block_barrier = nullptr;
            }
        }
    }
}
}  // namespace emu

#define threadIdx emu::thread_index
#define blockIdx emu::block_index
#define blockDim emu::block_dim
#define gridDim emu::grid_dim
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __shared__ static

inline void __syncthreads() { emu::block_barrier->arrive_and_wait(); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline unsigned int __float_as_uint(float f) { unsigned int u; std::memcpy(&u, &f, 4); return u; }
inline float __uint_as_float(unsigned int u) { float f; std::memcpy(&f, &u, 4); return f; }
inline double __longlong_as_double(long long u) { double d; std::memcpy(&d, &u, 8); return d; }
