// float32 <-> bfloat16 (stored as unsigned short bits): round to nearest even, NaN kept a quiet NaN.

extern "C" __global__ void tandem_f32_to_bf16(const float* x, unsigned short* y, long long n) {
    TANDEM_GRID_STRIDE(i, n) {
        unsigned int u = __float_as_uint(x[i]);
        if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0u) {
            y[i] = (unsigned short) ((u >> 16) | 0x0040u);
        } else {
            y[i] = (unsigned short) ((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
        }
    }
}

extern "C" __global__ void tandem_bf16_to_f32(const unsigned short* x, float* y, long long n) {
    TANDEM_GRID_STRIDE(i, n) { y[i] = __uint_as_float(((unsigned int) x[i]) << 16); }
}
