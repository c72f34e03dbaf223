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

extern "C" __global__ void tandem_relu(const float* x, float* y, long long n) {
    TANDEM_GRID_STRIDE(i, n) { y[i] = x[i] > 0.0f ? x[i] : 0.0f; }
}

// dx = dy where the ReLU's output y is positive, else 0 (Tandem's ActivationGrad for Relu reads Y).
extern "C" __global__ void tandem_relu_grad(const float* dy, const float* y, float* dx, long long n) {
    TANDEM_GRID_STRIDE(i, n) { dx[i] = y[i] > 0.0f ? dy[i] : 0.0f; }
}
