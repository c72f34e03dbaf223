// Kernels for ops of planned graphs that the other units do not cover (the CUDA executor, dev.tandem.cuda.exec):
// dropout with the CPU's counter-based masks, cross-entropy's gradient from saved log-probabilities, inference batch
// norm, the top-1 bookkeeping of a training step (ArgMax, Equal, Cast, ReduceSum over int64), and the SGD step's
// hyper-parameters computed on the device from the gradients' squared norm.

// Tandem's DropoutTrain: uniform(seed, i) = SplitMix64's finaliser over seed * golden + i * c1 + c2, as a double in
// [0, 1); kept when >= ratio, i.e. when its 53 bits >= threshold = ceil(ratio * 2^53). y = (float) (x * keep)
// computed in double (keep_bits: the double's bits), mask = keep (float) or 0.
__device__ __forceinline__ unsigned long long tandem_uniform53(unsigned long long seed, unsigned long long index) {
    unsigned long long z = seed * 0x9E3779B97F4A7C15ull + index * 0xBF58476D1CE4E5B9ull + 0x94D049BB133111EBull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return z >> 11;
}

extern "C" __global__ void tandem_dropout(const float* x, const long long* seed, float* y, float* mask, long long n,
                                          long long threshold, long long keep_bits) {
    unsigned long long s = (unsigned long long) seed[0];
    double keep = __longlong_as_double(keep_bits);
    float keep_f = (float) keep;
    TANDEM_GRID_STRIDE(i, n) {
        int kept = tandem_uniform53(s, (unsigned long long) i) >= (unsigned long long) threshold;
        y[i] = kept ? (float) ((double) x[i] * keep) : 0.0f;
        mask[i] = kept ? keep_f : 0.0f;
    }
}

// SoftmaxCrossEntropyGrad without class weights: dx = dloss * (exp(log_prob) - q) / divisor, with
// q = (1 - smoothing) * onehot(label) + smoothing / classes (so that sum q = 1).
extern "C" __global__ void tandem_xent_grad(const float* dloss, const float* log_prob, const long long* labels,
                                            float* dx, int rows, int classes, float smoothing, float divisor) {
    long long count = (long long) rows * classes;
    float g = dloss[0] / divisor;
    float off = smoothing / (float) classes;
    TANDEM_GRID_STRIDE(i, count) {
        int c = (int) (i % classes);
        long long r = i / classes;
        float q = off + (c == labels[r] ? 1.0f - smoothing : 0.0f);
        dx[i] = g * (expf(log_prob[i]) - q);
    }
}

// Inference BatchNormalization over NCHW: y = (x - mean) / sqrt(var + eps) * gamma + beta.
extern "C" __global__ void tandem_bn_infer(const float* x, float* y, const float* gamma, const float* beta,
                                           const float* mean, const float* var, int channels, long long plane,
                                           long long count, float eps) {
    int pl = (int) plane;  // 32-bit index arithmetic: the caller checks count < 2^31
    TANDEM_GRID_STRIDE(i, count) {
        int c = ((int) i / pl) % channels;
        float g = gamma[c] / sqrtf(var[c] + eps);
        y[i] = (x[i] - mean[c]) * g + beta[c];
    }
}

// ArgMax over the last axis of [rows, cols] (the first maximum, as ONNX with select_last_index = 0).
extern "C" __global__ void tandem_argmax_rows(const float* x, long long* y, int rows, int cols) {
    TANDEM_GRID_STRIDE(r, (long long) rows) {
        const float* p = x + r * cols;
        int best = 0;
        float v = p[0];
        for (int c = 1; c < cols; c++) {
            if (p[c] > v) {
                v = p[c];
                best = c;
            }
        }
        y[r] = best;
    }
}

// Equal over int64 into bool bytes.
extern "C" __global__ void tandem_equal_i64(const long long* a, const long long* b, unsigned char* y, long long n) {
    TANDEM_GRID_STRIDE(i, n) { y[i] = a[i] == b[i] ? 1 : 0; }
}

// Cast bool bytes to int64.
extern "C" __global__ void tandem_bool_to_i64(const unsigned char* x, long long* y, long long n) {
    TANDEM_GRID_STRIDE(i, n) { y[i] = x[i] != 0 ? 1 : 0; }
}

// y[0] = sum of int64 x[0..n): one block (n is a batch, small).
extern "C" __global__ void tandem_sum_i64(const long long* x, long long* y, long long n) {
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        long long s = 0;
        for (long long i = 0; i < n; i++) {
            s += x[i];
        }
        y[0] = s;
    }
}

// The SGD step's hyper-parameters for tandem_sgd_step from device values: hp[0] = lr[0]; hp[1] = the momentum
// input's value when has_momentum_input, else momentum_attr; hp[2] = the clipping factor (max_norm / (norm + 1e-6)
// when 0 < max_norm < norm, else 1), or NaN when the norm is not finite (tandem_sgd_step then changes nothing).
// norm_out[0] = the norm. One thread.
extern "C" __global__ void tandem_sgd_hyper(const float* sumsq, const float* lr, const float* momentum, float* hp,
                                            float* norm_out, float momentum_attr, int has_momentum_input,
                                            float max_norm) {
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        float norm = sqrtf(sumsq[0]);
        norm_out[0] = norm;
        hp[0] = lr[0];
        hp[1] = has_momentum_input ? momentum[0] : momentum_attr;
        float finite = norm - norm;
        if (finite != 0.0f) {
            hp[2] = finite;
        } else {
            hp[2] = (max_norm > 0.0f && norm > max_norm) ? max_norm / (norm + 1e-6f) : 1.0f;
        }
    }
}

// Clip (ReLU6 and the like): y = min(max(x, lo), hi).
extern "C" __global__ void tandem_clip(const float* x, float* y, long long n, float lo, float hi) {
    TANDEM_GRID_STRIDE(i, n) {
        float v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v;
    }
}

// Clip's gradient from its input: dy where lo < x < hi, else 0 (0 at the bounds, as PyTorch's hardtanh).
extern "C" __global__ void tandem_clip_grad(const float* dy, const float* x, float* dx, long long n, float lo,
                                            float hi) {
    TANDEM_GRID_STRIDE(i, n) { dx[i] = (x[i] > lo && x[i] < hi) ? dy[i] : 0.0f; }
}

// Adam's hyper-parameters for tandem_adam_step: hp[0] = lr[0], hp[1] = 1 - beta1^step, hp[2] = 1 - beta2^step (in
// double, as the CPU), hp[3] = the clipping factor, or NaN when the norm is not finite. norm_out[0] = the norm.
extern "C" __global__ void tandem_adam_hyper(const float* sumsq, const float* lr, const long long* step, float* hp,
                                             float* norm_out, float beta1, float beta2, float max_norm) {
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        float norm = sqrtf(sumsq[0]);
        norm_out[0] = norm;
        hp[0] = lr[0];
        hp[1] = (float) (1.0 - pow((double) beta1, (double) step[0]));
        hp[2] = (float) (1.0 - pow((double) beta2, (double) step[0]));
        float finite = norm - norm;
        if (finite != 0.0f) {
            hp[3] = finite;
        } else {
            hp[3] = (max_norm > 0.0f && norm > max_norm) ? max_norm / (norm + 1e-6f) : 1.0f;
        }
    }
}

// Holds the stream for ns nanoseconds of the device's global timer (-Dtandem.cuda.profile=steps queues a run's
// launches behind it, so that the events between them time the device's work alone). One thread; does nothing
// where there is no device timer (the CPU emulator of the tests).
extern "C" __global__ void tandem_spin(long long ns) {
#ifdef __CUDA_ARCH__
    unsigned long long start, now;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
    do {
        asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
    } while (now - start < (unsigned long long) ns);
#endif
}
