// Batch normalisation in training mode over NCHW float32 (Tandem's BatchNormTrain and BatchNormGrad), split over
// many blocks: a block per (channel, group of images) writes a partial sum, one small kernel per channel adds the
// partials in a fixed order, and the normalisation is element-wise (one block per channel alone leaves most of a
// large GPU idle). Two passes (mean, then squared deviations) keep the variance accurate; running statistics are
// updated PyTorch's way: r = (1 - momentum) * r + momentum * batch, with the unbiased variance for running_var.

// grid (channels, splits): partial[c * splits + s] = the sum over the images of split s and the plane of
// x - pivot (pivot = the channel's first value: a channel whose mean is large against its spread, e.g. after ReLU6,
// keeps its digits, as the CPU's pivot does), or of (x - mean[c])^2 when squares != 0.
extern "C" __global__ void tandem_bn_partial(const float* x, const float* mean, const float* mean_low,
                                             float* partial, int batch, int channels, long long plane, int splits,
                                             int squares) {
    __shared__ float scratch[1024];
    int c = blockIdx.x;
    int s = blockIdx.y;
    int n0 = (int) ((long long) batch * s / splits);
    int n1 = (int) ((long long) batch * (s + 1) / splits);
    float m = squares ? mean[c] : x[(long long) c * plane];
    float lo = squares ? mean_low[c] : 0.0f;
    float acc = 0.0f;
    for (int n = n0; n < n1; n++) {
        const float* xp = x + ((long long) n * channels + c) * plane;
        for (long long p = threadIdx.x; p < plane; p += blockDim.x) {
            float v = (xp[p] - m) - lo;
            acc += squares ? v * v : v;
        }
    }
    acc = tandem_block_sum(acc, scratch);
    if (threadIdx.x == 0) {
        partial[c * splits + s] = acc;
    }
}

// grid (channels), one thread: the batch mean, pivot + the partial sums of x - pivot over count = N * plane, as a
// float (mean) and the float of what that rounding lost (mean_low), as the CPU keeps it.
extern "C" __global__ void tandem_bn_mean(const float* partial, const float* x, float* mean, float* mean_low,
                                          int splits, long long plane, long long count) {
    if (threadIdx.x == 0) {
        int c = blockIdx.x;
        double s = 0.0;
        for (int i = 0; i < splits; i++) {
            s += (double) partial[c * splits + i];
        }
        double md = (double) x[(long long) c * plane] + s / (double) count;
        float mf = (float) md;
        mean[c] = mf;
        mean_low[c] = (float) (md - (double) mf);
    }
}

// grid (channels), one thread: 1/sqrt(var + eps) from the partial squared deviations, and the running statistics
// (PyTorch's: r = (1 - momentum) r + momentum batch, the unbiased variance for running_var).
extern "C" __global__ void tandem_bn_var(const float* partial, const float* mean, float* invstd,
                                         float* running_mean, float* running_var, int splits, long long count,
                                         float eps, float momentum) {
    if (threadIdx.x == 0) {
        int c = blockIdx.x;
        float s = 0.0f;
        for (int i = 0; i < splits; i++) {
            s += partial[c * splits + i];
        }
        float var = s / (float) count;
        invstd[c] = rsqrtf(var + eps);
        float unbiased = count > 1 ? var * (float) count / (float) (count - 1) : var;
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean[c];
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbiased;
    }
}

// y = (x - mean) * invstd * gamma + beta, element-wise (32-bit indices: the caller checks count < 2^31). The
// difference first: x * g + (beta - mean * g) cancels catastrophically when the mean is large against the spread.
extern "C" __global__ void tandem_bn_apply(const float* x, float* y, const float* gamma, const float* beta,
                                           const float* mean, const float* mean_low, const float* invstd,
                                           int channels, int plane, long long count) {
    TANDEM_GRID_STRIDE(i, count) {
        int c = ((int) i / plane) % channels;
        y[i] = ((x[i] - mean[c]) - mean_low[c]) * (gamma[c] * invstd[c]) + beta[c];
    }
}

// grid (channels, splits): partial[c * splits + s] = sum dy and partial[(channels + c) * splits + s] =
// sum dy * xhat over the images of split s.
extern "C" __global__ void tandem_bn_bwd_partial(const float* dy, const float* x, const float* mean,
                                                 const float* invstd, float* partial, int batch, int channels,
                                                 long long plane, int splits) {
    __shared__ float scratch[1024];
    int c = blockIdx.x;
    int s = blockIdx.y;
    int n0 = (int) ((long long) batch * s / splits);
    int n1 = (int) ((long long) batch * (s + 1) / splits);
    float m = mean[c];
    float is = invstd[c];
    float a = 0.0f;
    float b = 0.0f;
    for (int n = n0; n < n1; n++) {
        long long base = ((long long) n * channels + c) * plane;
        for (long long p = threadIdx.x; p < plane; p += blockDim.x) {
            float d = dy[base + p];
            a += d;
            b += d * (x[base + p] - m) * is;
        }
    }
    a = tandem_block_sum(a, scratch);
    b = tandem_block_sum(b, scratch);
    if (threadIdx.x == 0) {
        partial[c * splits + s] = a;
        partial[(channels + c) * splits + s] = b;
    }
}

// grid (channels), one thread: dbeta and dgamma from the partials.
extern "C" __global__ void tandem_bn_bwd_sums(const float* partial, float* dgamma, float* dbeta, int channels,
                                              int splits) {
    if (threadIdx.x == 0) {
        int c = blockIdx.x;
        float a = 0.0f;
        float b = 0.0f;
        for (int i = 0; i < splits; i++) {
            a += partial[c * splits + i];
            b += partial[(channels + c) * splits + i];
        }
        dbeta[c] = a;
        dgamma[c] = b;
    }
}

// dx = gamma * invstd / M * (M * dy - dbeta - xhat * dgamma), element-wise (count < 2^31), M = N * plane.
extern "C" __global__ void tandem_bn_bwd_apply(const float* dy, const float* x, const float* gamma,
                                               const float* mean, const float* invstd, const float* dgamma,
                                               const float* dbeta, float* dx, int channels, int plane,
                                               long long count, long long m) {
    float fm = (float) m;
    TANDEM_GRID_STRIDE(i, count) {
        int c = ((int) i / plane) % channels;
        float is = invstd[c];
        float xhat = (x[i] - mean[c]) * is;
        dx[i] = gamma[c] * is / fm * (fm * dy[i] - dbeta[c] - xhat * dgamma[c]);
    }
}
