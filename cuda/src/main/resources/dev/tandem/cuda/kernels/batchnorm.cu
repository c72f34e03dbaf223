// Batch normalisation in training mode over NCHW float32 (Tandem's BatchNormTrain and BatchNormGrad): one block
// per channel (grid = C), blockDim a power of two. Statistics are per channel over N and the plane; two passes
// (mean, then squared deviations) keep the variance accurate.

// y = (x - mean) * invstd * gamma + beta with the batch's mean and biased variance; saves mean and invstd for the
// backward pass and updates the running statistics in place, PyTorch's way:
// r = (1 - momentum) * r + momentum * batch, with the unbiased variance for running_var.
extern "C" __global__ void tandem_bn_fwd_train(const float* x, float* y, const float* gamma, const float* beta,
                                               float* running_mean, float* running_var, float* saved_mean,
                                               float* saved_invstd, int batch, int channels, long long plane,
                                               float eps, float momentum) {
    __shared__ float scratch[1024];
    int c = blockIdx.x;
    long long m = (long long) batch * plane;
    // Nested loops over images and the plane: no 64-bit division per element (it dominated the time).
    float s = 0.0f;
    for (int n = 0; n < batch; n++) {
        const float* xp = x + ((long long) n * channels + c) * plane;
        for (long long p = threadIdx.x; p < plane; p += blockDim.x) {
            s += xp[p];
        }
    }
    float mean = tandem_block_sum(s, scratch) / (float) m;
    float d2 = 0.0f;
    for (int n = 0; n < batch; n++) {
        const float* xp = x + ((long long) n * channels + c) * plane;
        for (long long p = threadIdx.x; p < plane; p += blockDim.x) {
            float d = xp[p] - mean;
            d2 += d * d;
        }
    }
    float var = tandem_block_sum(d2, scratch) / (float) m;
    float invstd = rsqrtf(var + eps);
    float g = gamma[c] * invstd;
    float b = beta[c] - mean * g;
    for (int n = 0; n < batch; n++) {
        long long base = ((long long) n * channels + c) * plane;
        for (long long p = threadIdx.x; p < plane; p += blockDim.x) {
            y[base + p] = x[base + p] * g + b;
        }
    }
    if (threadIdx.x == 0) {
        saved_mean[c] = mean;
        saved_invstd[c] = invstd;
        float unbiased = m > 1 ? var * (float) m / (float) (m - 1) : var;
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean;
        running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbiased;
    }
}

// With xhat = (x - mean) * invstd: dbeta = sum dy, dgamma = sum dy * xhat,
// dx = gamma * invstd / M * (M * dy - dbeta - xhat * dgamma), M = N * plane.
extern "C" __global__ void tandem_bn_bwd(const float* dy, const float* x, const float* gamma,
                                         const float* saved_mean, const float* saved_invstd, float* dx,
                                         float* dgamma, float* dbeta, int batch, int channels, long long plane) {
    __shared__ float scratch[1024];
    int c = blockIdx.x;
    long long m = (long long) batch * plane;
    float mean = saved_mean[c];
    float invstd = saved_invstd[c];
    float sdy = 0.0f;
    float sdyx = 0.0f;
    for (int n = 0; n < batch; n++) {
        long long base = ((long long) n * channels + c) * plane;
        for (long long p = threadIdx.x; p < plane; p += blockDim.x) {
            float d = dy[base + p];
            sdy += d;
            sdyx += d * (x[base + p] - mean) * invstd;
        }
    }
    float db = tandem_block_sum(sdy, scratch);
    float dg = tandem_block_sum(sdyx, scratch);
    float f = gamma[c] * invstd / (float) m;
    for (int n = 0; n < batch; n++) {
        long long base = ((long long) n * channels + c) * plane;
        for (long long p = threadIdx.x; p < plane; p += blockDim.x) {
            float xhat = (x[base + p] - mean) * invstd;
            dx[base + p] = f * ((float) m * dy[base + p] - db - xhat * dg);
        }
    }
    if (threadIdx.x == 0) {
        dgamma[c] = dg;
        dbeta[c] = db;
    }
}

// The same two passes split over many blocks (what the executor runs): a block per (channel, group of images)
// writes a partial sum, one small kernel per channel adds the partials in a fixed order, and the normalisation is
// element-wise. One block per channel alone leaves most of a large GPU idle.

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
