// Softmax cross-entropy with label smoothing (PyTorch's cross_entropy, no class weights), forward and gradient in
// one pass: one thread per row of [rows, classes] logits.
// loss_rows[i] = -sum_c q[c] * log_prob[i, c] with q = (1 - eps) * onehot(label) + eps / classes;
// dlogits = (softmax - q) * grad_scale (grad_scale = dLoss / rows for the mean reduction).
// The total loss is the sum of loss_rows (tandem_sum_*), divided by rows for the mean.
extern "C" __global__ void tandem_softmax_xent(const float* logits, const long long* labels, float* loss_rows,
                                               float* log_prob, float* dlogits, int rows, int classes,
                                               float smoothing, float grad_scale) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= rows) {
        return;
    }
    const float* z = logits + (long long) i * classes;
    float mx = z[0];
    for (int c = 1; c < classes; c++) {
        mx = z[c] > mx ? z[c] : mx;
    }
    float sum = 0.0f;
    for (int c = 0; c < classes; c++) {
        sum += expf(z[c] - mx);
    }
    float lse = mx + logf(sum);
    long long label = labels[i];
    float off = smoothing / (float) classes;
    float loss = 0.0f;
    for (int c = 0; c < classes; c++) {
        float lp = z[c] - lse;
        float q = off + (c == label ? 1.0f - smoothing : 0.0f);
        loss -= q * lp;
        log_prob[(long long) i * classes + c] = lp;
        dlogits[(long long) i * classes + c] = (expf(lp) - q) * grad_scale;
    }
    loss_rows[i] = loss;
}
