// Pooling over NCHW float32 tensors. Index arithmetic is 32-bit (the callers check that a tensor has fewer than
// 2^31 elements): 64-bit division per element is slow on GPUs.

// Max pooling: one thread per output element; argmax[o] is the flat index (within the n, c plane) of the first
// maximum of its window (PyTorch's tie rule), -1 for a window entirely in the padding.
extern "C" __global__ void tandem_maxpool_fwd(const float* x, float* y, int* argmax, int planes, int h, int w,
                                              int oh, int ow, int kh, int kw, int sh, int sw, int ph, int pw) {
    long long count = (long long) planes * oh * ow;
    TANDEM_GRID_STRIDE(o, count) {
        int oi = (int) o;
        int ox = oi % ow;
        int oy = (oi / ow) % oh;
        long long plane = oi / (oh * ow);
        const float* xp = x + plane * h * w;
        float best = 0.0f;
        int where = -1;
        for (int ky = 0; ky < kh; ky++) {
            int iy = oy * sh - ph + ky;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < kw; kx++) {
                int ix = ox * sw - pw + kx;
                if (ix < 0 || ix >= w) continue;
                float v = xp[iy * w + ix];
                if (where < 0 || v > best) {
                    best = v;
                    where = iy * w + ix;
                }
            }
        }
        y[o] = where < 0 ? 0.0f : best;
        argmax[o] = where;
    }
}

// Max pooling's gradient as a gather: one thread per input element sums dy over the windows whose argmax is that
// element, so no two threads write one element and the sum order is fixed (deterministic, no atomics).
extern "C" __global__ void tandem_maxpool_bwd(const float* dy, const int* argmax, float* dx, int planes, int h, int w,
                                              int oh, int ow, int kh, int kw, int sh, int sw, int ph, int pw) {
    long long count = (long long) planes * h * w;
    TANDEM_GRID_STRIDE(i, count) {
        int ii = (int) i;
        int ix = ii % w;
        int iy = (ii / w) % h;
        long long plane = ii / (h * w);
        int self = iy * w + ix;
        // Outputs whose window holds (iy, ix): oy*sh - ph <= iy <= oy*sh - ph + kh - 1.
        int oy0 = iy + ph - kh + 1;
        oy0 = oy0 <= 0 ? 0 : (oy0 + sh - 1) / sh;
        int oy1 = (iy + ph) / sh;
        int ox0 = ix + pw - kw + 1;
        ox0 = ox0 <= 0 ? 0 : (ox0 + sw - 1) / sw;
        int ox1 = (ix + pw) / sw;
        float s = 0.0f;
        for (int oy = oy0; oy <= oy1 && oy < oh; oy++) {
            for (int ox = ox0; ox <= ox1 && ox < ow; ox++) {
                long long o = (plane * oh + oy) * ow + ox;
                if (argmax[o] == self) {
                    s += dy[o];
                }
            }
        }
        dx[i] = s;
    }
}

// Max pooling's gradient where the windows tile the input exactly (stride = window, no padding, h = oh * kh,
// w = ow * kw: the 2x2 pools of small CNNs), one thread per output: it finds its window's first maximum as
// tandem_maxpool_fwd does and writes the whole window of dx, dy[o] there and 0 elsewhere. One pass, no argmax
// buffer, and every dx element written exactly once.
extern "C" __global__ void tandem_maxpool_bwd_tiled(const float* x, const float* dy, float* dx, int planes, int oh,
                                                    int ow, int kh, int kw) {
    long long count = (long long) planes * oh * ow;
    int w = ow * kw;
    TANDEM_GRID_STRIDE(o, count) {
        int oi = (int) o;
        int ox = oi % ow;
        int oy = (oi / ow) % oh;
        long long plane = oi / (oh * ow);
        long long top = (plane * oh * kh + (long long) oy * kh) * w + (long long) ox * kw;
        float best = 0.0f;
        int where = -1;
        for (int ky = 0; ky < kh; ky++) {
            for (int kx = 0; kx < kw; kx++) {
                float v = x[top + (long long) ky * w + kx];
                if (where < 0 || v > best) {
                    best = v;
                    where = ky * kw + kx;
                }
            }
        }
        float g = dy[o];
        for (int ky = 0; ky < kh; ky++) {
            for (int kx = 0; kx < kw; kx++) {
                dx[top + (long long) ky * w + kx] = ky * kw + kx == where ? g : 0.0f;
            }
        }
    }
}

// Global average pooling: one block per (n, c) plane (grid = N * C), blockDim a power of two.
extern "C" __global__ void tandem_global_avgpool_fwd(const float* x, float* y, long long plane) {
    __shared__ float scratch[1024];
    const float* xp = x + (long long) blockIdx.x * plane;
    float s = 0.0f;
    for (long long j = threadIdx.x; j < plane; j += blockDim.x) {
        s += xp[j];
    }
    s = tandem_block_sum(s, scratch);
    if (threadIdx.x == 0) {
        y[blockIdx.x] = s / (float) plane;
    }
}

// dx[n, c, p] = dy[n, c] / plane.
extern "C" __global__ void tandem_global_avgpool_bwd(const float* dy, float* dx, long long plane, long long count) {
    int pl = (int) plane;  // 32-bit index arithmetic: the caller checks count < 2^31
    TANDEM_GRID_STRIDE(i, count) { dx[i] = dy[(int) i / pl] / (float) pl; }
}
