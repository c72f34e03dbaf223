// Bias and activation epilogues after a convolution (NCHW) or a GEMM (rows x cols), in place, and their bias
// gradients. act: 0 = none, 1 = ReLU.

__device__ __forceinline__ float tandem_activate(float v, int act) {
    return act == 1 ? (v > 0.0f ? v : 0.0f) : v;
}

// y[n, c, p] = act(y[n, c, p] + bias[c]); plane = H * W, count = N * C * plane.
extern "C" __global__ void tandem_bias_act_nchw(float* y, const float* bias, int channels, long long plane,
                                                long long count, int act) {
    int pl = (int) plane;  // 32-bit index arithmetic: the caller checks count < 2^31
    TANDEM_GRID_STRIDE(i, count) {
        int c = ((int) i / pl) % channels;
        y[i] = tandem_activate(y[i] + bias[c], act);
    }
}

// y[r, c] = act(y[r, c] + bias[c]); count = rows * cols.
extern "C" __global__ void tandem_bias_act_rows(float* y, const float* bias, int cols, long long count, int act) {
    TANDEM_GRID_STRIDE(i, count) { y[i] = tandem_activate(y[i] + bias[i % cols], act); }
}

// db[c] = sum over rows of dy[r, c]: one thread per column, rows summed in order (deterministic).
extern "C" __global__ void tandem_bias_grad_rows(const float* dy, float* db, int rows, int cols) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c < cols) {
        float s = 0.0f;
        for (int r = 0; r < rows; r++) {
            s += dy[(long long) r * cols + c];
        }
        db[c] = s;
    }
}

// db[c] = sum over n and the plane of dy[n, c, p]: one block per channel (grid = C), blockDim a power of two.
extern "C" __global__ void tandem_bias_grad_nchw(const float* dy, float* db, int batch, int channels,
                                                 long long plane) {
    __shared__ float scratch[1024];
    int c = blockIdx.x;
    float s = 0.0f;
    for (int n = 0; n < batch; n++) {
        const float* d = dy + ((long long) n * channels + c) * plane;
        for (long long p = threadIdx.x; p < plane; p += blockDim.x) {
            s += d[p];
        }
    }
    s = tandem_block_sum(s, scratch);
    if (threadIdx.x == 0) {
        db[c] = s;
    }
}
