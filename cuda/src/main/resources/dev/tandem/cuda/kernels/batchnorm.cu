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
