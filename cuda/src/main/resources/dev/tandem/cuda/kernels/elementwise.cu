// Element-wise float32 kernels. Outputs may alias inputs (in-place use is fine: each element is read, then written).

extern "C" __global__ void tandem_add(const float* a, const float* b, float* y, long long n) {
    TANDEM_GRID_STRIDE(i, n) { y[i] = a[i] + b[i]; }
}

extern "C" __global__ void tandem_mul(const float* a, const float* b, float* y, long long n) {
    TANDEM_GRID_STRIDE(i, n) { y[i] = a[i] * b[i]; }
}

// y += alpha * x (gradient accumulation).
extern "C" __global__ void tandem_axpy(float alpha, const float* x, float* y, long long n) {
    TANDEM_GRID_STRIDE(i, n) { y[i] += alpha * x[i]; }
}

extern "C" __global__ void tandem_scale(float alpha, const float* x, float* y, long long n) {
    TANDEM_GRID_STRIDE(i, n) { y[i] = alpha * x[i]; }
}

#define TANDEM_RELU4(a, b, c, d) \
    { \
        float va = x[a], vb = x[b], vc = x[c], vd = x[d]; \
        y[a] = va > 0.0f ? va : 0.0f; \
        y[b] = vb > 0.0f ? vb : 0.0f; \
        y[c] = vc > 0.0f ? vc : 0.0f; \
        y[d] = vd > 0.0f ? vd : 0.0f; \
    }
#define TANDEM_RELU1(a) { float va = x[a]; y[a] = va > 0.0f ? va : 0.0f; }

extern "C" __global__ void tandem_relu(const float* x, float* y, long long n) {
    TANDEM_GRID_STRIDE_X4(n, TANDEM_RELU4, TANDEM_RELU1);
}

#define TANDEM_RELU_GRAD4(a, b, c, d) \
    { \
        float ya = y[a], yb = y[b], yc = y[c], yd = y[d]; \
        float ga = dy[a], gb = dy[b], gc = dy[c], gd = dy[d]; \
        dx[a] = ya > 0.0f ? ga : 0.0f; \
        dx[b] = yb > 0.0f ? gb : 0.0f; \
        dx[c] = yc > 0.0f ? gc : 0.0f; \
        dx[d] = yd > 0.0f ? gd : 0.0f; \
    }
#define TANDEM_RELU_GRAD1(a) { dx[a] = y[a] > 0.0f ? dy[a] : 0.0f; }

// dx = dy where the ReLU's output y is positive, else 0 (Tandem's ActivationGrad for Relu reads Y).
extern "C" __global__ void tandem_relu_grad(const float* dy, const float* y, float* dx, long long n) {
    TANDEM_GRID_STRIDE_X4(n, TANDEM_RELU_GRAD4, TANDEM_RELU_GRAD1);
}
