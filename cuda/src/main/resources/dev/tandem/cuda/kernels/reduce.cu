// Deterministic reductions in two launches: *_partial writes one partial per block (grid-stride over x), then
// tandem_sum_final (one block) adds the partials in a fixed order. blockDim must be a power of two.

extern "C" __global__ void tandem_sum_partial(const float* x, float* partial, long long n) {
    __shared__ float scratch[1024];
    float s = 0.0f;
    TANDEM_GRID_STRIDE(i, n) { s += x[i]; }
    s = tandem_block_sum(s, scratch);
    if (threadIdx.x == 0) {
        partial[blockIdx.x] = s;
    }
}

extern "C" __global__ void tandem_sumsq_partial(const float* x, float* partial, long long n) {
    __shared__ float scratch[1024];
    float s = 0.0f;
    TANDEM_GRID_STRIDE(i, n) { s += x[i] * x[i]; }
    s = tandem_block_sum(s, scratch);
    if (threadIdx.x == 0) {
        partial[blockIdx.x] = s;
    }
}

// tandem_sumsq_partial over many tensors in one launch: tensor blockIdx.y is xs[y] (ns[y] values), its partials
// at partial[y * gridDim.x ...], each the same sum as tandem_sumsq_partial's with gridDim.x blocks.
extern "C" __global__ void tandem_sumsq_multi(const float* const* xs, const long long* ns, float* partial) {
    __shared__ float scratch[1024];
    const float* x = xs[blockIdx.y];
    long long n = ns[blockIdx.y];
    float s = 0.0f;
    TANDEM_GRID_STRIDE(i, n) { s += x[i] * x[i]; }
    s = tandem_block_sum(s, scratch);
    if (threadIdx.x == 0) {
        partial[(long long) blockIdx.y * gridDim.x + blockIdx.x] = s;
    }
}

// out[0] = scale * sum of partial[0..count); launch with one block.
extern "C" __global__ void tandem_sum_final(const float* partial, float* out, int count, float scale) {
    __shared__ float scratch[1024];
    float s = 0.0f;
    for (int i = threadIdx.x; i < count; i += blockDim.x) {
        s += partial[i];
    }
    s = tandem_block_sum(s, scratch);
    if (threadIdx.x == 0) {
        out[0] = s * scale;
    }
}
