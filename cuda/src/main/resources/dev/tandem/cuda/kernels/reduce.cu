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
