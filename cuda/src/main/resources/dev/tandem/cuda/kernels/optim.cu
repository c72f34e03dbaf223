// Optimizer steps, in place over one parameter tensor, with PyTorch's semantics (Tandem's SgdStep and AdamStep).
// Values that change from step to step (learning rate, momentum, bias corrections, the clipping factor) are read
// from device memory (hp), so that a captured CUDA graph replays correctly with new values.

// hp[0] = lr, hp[1] = momentum, hp[2] = gradient scale (global-norm clipping; 1 when off).
// g' = g * scale + wd * p; m = momentum * m + g'; step = nesterov ? g' + momentum * m : m; p -= lr * step.
__device__ __forceinline__ void tandem_sgd_update(float* p, const float* g, float* m, long long n,
                                                  const float* hp, float weight_decay, int nesterov) {
    float lr = hp[0];
    float mu = hp[1];
    float scale = hp[2];
    if (scale != scale) {
        return;  // the gradients are not finite: leave everything as it was
    }
    TANDEM_GRID_STRIDE(i, n) {
        float gi = g[i] * scale + weight_decay * p[i];
        float mi = mu * m[i] + gi;
        m[i] = mi;
        p[i] -= lr * (nesterov ? gi + mu * mi : mi);
    }
}

extern "C" __global__ void tandem_sgd_step(float* p, const float* g, float* m, long long n, const float* hp,
                                           float weight_decay, int nesterov) {
    tandem_sgd_update(p, g, m, n, hp, weight_decay, nesterov);
}

// The same step over many tensors in one launch: tensor blockIdx.y is ps[y], gs[y], ms[y] (ns[y] values, weight
// decay decays[y]); the blocks along x stride over it as tandem_sgd_step's blocks do over its one tensor.
extern "C" __global__ void tandem_sgd_step_multi(float* const* ps, const float* const* gs, float* const* ms,
                                                 const long long* ns, const float* decays, const float* hp,
                                                 int nesterov) {
    int t = blockIdx.y;
    tandem_sgd_update(ps[t], gs[t], ms[t], ns[t], hp, decays[t], nesterov);
}

// hp[0] = lr, hp[1] = 1 - beta1^t, hp[2] = 1 - beta2^t, hp[3] = gradient scale.
// Adam (decoupled = 0): g += wd * p. AdamW (decoupled = 1): p *= 1 - lr * wd. Then
// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p -= lr * (m / c1) / (sqrt(v / c2) + eps).
extern "C" __global__ void tandem_adam_step(float* p, const float* g, float* m, float* v, long long n,
                                            const float* hp, float beta1, float beta2, float eps,
                                            float weight_decay, int decoupled) {
    float lr = hp[0];
    float c1 = hp[1];
    float c2 = hp[2];
    float scale = hp[3];
    if (scale != scale) {
        return;  // the gradients are not finite: leave everything as it was
    }
    TANDEM_GRID_STRIDE(i, n) {
        float gi = g[i] * scale;
        float pi = p[i];
        if (decoupled) {
            pi *= 1.0f - lr * weight_decay;
        } else {
            gi += weight_decay * pi;
        }
        float mi = beta1 * m[i] + (1.0f - beta1) * gi;
        float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - lr * (mi / c1) / (sqrtf(vi / c2) + eps);
    }
}
