// Batch normalisation in training mode over NCHW float32 (Tandem's BatchNormTrain and BatchNormGrad), split over
// many blocks: a block per (channel, group of images) writes partial sums, one small kernel per channel adds the
// partials in a fixed order, and the normalisation is element-wise (one block per channel alone leaves most of a
// large GPU idle). One pass gathers the sums of x - pivot and of its squares, with the pivot a value of the channel
// and every sum in double (so the variance keeps its digits: a second pass over the data cost more than the sums);
// running statistics are updated PyTorch's way: r = (1 - momentum) * r + momentum * batch, with the unbiased variance
// for running_var.

// A (channel c, split s) block's share of a batch-norm reduction: the images of split s of splits, as one flat range
// of *total elements (< 2^31) from the returned offset of channel c's plane in the first of them; tandem_bn_at gives
// the offset of the range's element j.
__device__ __forceinline__ long long tandem_bn_split(int batch, int channels, int plane, int c, int s, int splits,
                                                     int* total) {
    int n0 = (int) ((long long) batch * s / splits);
    int n1 = (int) ((long long) batch * (s + 1) / splits);
    *total = (n1 - n0) * plane;
    return (long long) n0 * channels * plane + (long long) c * plane;
}

__device__ __forceinline__ long long tandem_bn_at(long long base, int j, int plane, long long image) {
    return base + (long long) (j / plane) * image + j % plane;
}

// Sums a and b over the block (every thread calls it) and stores them as the block's two partials.
__device__ __forceinline__ void tandem_bn_partials(float a, float b, float* scratch, float* partial, int c, int s,
                                                   int channels, int splits) {
    a = tandem_block_sum(a, scratch);
    b = tandem_block_sum(b, scratch);
    if (threadIdx.x == 0) {
        partial[c * splits + s] = a;
        partial[(channels + c) * splits + s] = b;
    }
}


// grid (channels, splits), one pass over the images of split s: partial[c * splits + s] = the sum of x - pivot and
// partial[(channels + c) * splits + s] = the sum of (x - pivot)^2, as doubles, pivot = the channel's first value. The
// variance is then E[(x - p)^2] - (mean - p)^2, whose subtraction loses digits in proportion to
// 1 + (mean - p)^2 / var: up to N when the pivot is an outlier (a ReLU6 channel saturated at 6 whose first value is
// 0). So every sum is in double, x - p included (exact in double): with float sums that case lost 1e-5 to 7e-5 of
// the variance; in double it keeps the CPU's two-pass accuracy (KernelCases: "batch norm, saturated channel, pivot
// an outlier"). The split's elements are taken as one flat range, four loads in flight per thread (one at a time
// left the loop waiting on memory). Elements < 2^31 (the caller checks).
extern "C" __global__ void tandem_bn_stats_partial(const float* x, double* partial, int batch, int channels, int plane,
                                                   int splits) {
    __shared__ double scratch[1024];
    int c = blockIdx.x;
    int total;
    long long base = tandem_bn_split(batch, channels, plane, c, blockIdx.y, splits, &total);
    long long image = (long long) channels * plane;
    double pivot = (double) x[(long long) c * plane];
    int step = blockDim.x;
    double a = 0.0;
    double b = 0.0;
    int j = threadIdx.x;
    for (; j + 3 * step < total; j += 4 * step) {
        double v0 = (double) x[tandem_bn_at(base, j, plane, image)] - pivot;
        double v1 = (double) x[tandem_bn_at(base, j + step, plane, image)] - pivot;
        double v2 = (double) x[tandem_bn_at(base, j + 2 * step, plane, image)] - pivot;
        double v3 = (double) x[tandem_bn_at(base, j + 3 * step, plane, image)] - pivot;
        a += (v0 + v1) + (v2 + v3);
        b += (v0 * v0 + v1 * v1) + (v2 * v2 + v3 * v3);
    }
    for (; j < total; j += step) {
        double v = (double) x[tandem_bn_at(base, j, plane, image)] - pivot;
        a += v;
        b += v * v;
    }
    a = tandem_block_sum(a, scratch);
    b = tandem_block_sum(b, scratch);
    if (threadIdx.x == 0) {
        partial[c * splits + blockIdx.y] = a;
        partial[(channels + c) * splits + blockIdx.y] = b;
    }
}

// grid (channels), one thread: from the partial sums over count = N * plane, in double, the batch mean as a float
// (mean) and the float of what that rounding lost (mean_low), as the CPU keeps it; 1/sqrt(var + eps) with
// var = E[(x - pivot)^2] - (mean - pivot)^2; and the running statistics (PyTorch's: r = (1 - momentum) r +
// momentum batch, the unbiased variance for running_var).
extern "C" __global__ void tandem_bn_stats_final(const double* partial, const float* x, float* mean, float* mean_low,
                                                 float* invstd, float* running_mean, float* running_var, int channels,
                                                 int splits, int plane, long long count, float eps, float momentum) {
    if (threadIdx.x == 0) {
        int c = blockIdx.x;
        double s1 = 0.0;
        double s2 = 0.0;
        for (int i = 0; i < splits; i++) {
            s1 += partial[c * splits + i];
            s2 += partial[(channels + c) * splits + i];
        }
        double d = s1 / (double) count;
        double md = (double) x[(long long) c * plane] + d;
        float mf = (float) md;
        mean[c] = mf;
        mean_low[c] = (float) (md - (double) mf);
        double vd = s2 / (double) count - d * d;
        float var = vd > 0.0 ? (float) vd : 0.0f;
        invstd[c] = rsqrtf(var + eps);
        float unbiased = count > 1 ? var * (float) count / (float) (count - 1) : var;
        running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mf;
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
    int pl = (int) plane;
    int total;
    long long base = tandem_bn_split(batch, channels, pl, c, blockIdx.y, splits, &total);
    long long image = (long long) channels * plane;
    float m = mean[c];
    float is = invstd[c];
    int step = blockDim.x;
    float a = 0.0f;
    float b = 0.0f;
    int j = threadIdx.x;
    // As tandem_bn_stats_partial: the split as one flat range, four elements in flight per thread.
    for (; j + 3 * step < total; j += 4 * step) {
        long long o0 = tandem_bn_at(base, j, pl, image), o1 = tandem_bn_at(base, j + step, pl, image);
        long long o2 = tandem_bn_at(base, j + 2 * step, pl, image), o3 = tandem_bn_at(base, j + 3 * step, pl, image);
        float d0 = dy[o0], d1 = dy[o1], d2 = dy[o2], d3 = dy[o3];
        float x0 = x[o0], x1 = x[o1], x2 = x[o2], x3 = x[o3];
        a += (d0 + d1) + (d2 + d3);
        b += (d0 * (x0 - m) * is + d1 * (x1 - m) * is) + (d2 * (x2 - m) * is + d3 * (x3 - m) * is);
    }
    for (; j < total; j += step) {
        long long o = tandem_bn_at(base, j, pl, image);
        float d = dy[o];
        a += d;
        b += d * (x[o] - m) * is;
    }
    tandem_bn_partials(a, b, scratch, partial, c, blockIdx.y, channels, splits);
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
