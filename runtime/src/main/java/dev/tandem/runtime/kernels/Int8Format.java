package dev.tandem.runtime.kernels;

/**
 * How a float kernel reads or writes 8-bit data in place of float32 (the quantized convolution): a stored value
 * {@code q} (uint8 or int8) stands for the integer-valued float {@code q − zero} on reading, and a computed value
 * {@code v} is stored as {@code saturate(rint(v) + zero)} on writing (round half to even, as ONNX). The kernel's own
 * epilogue (bias, clamp) runs before the write, so a quantized output's per-channel scale and bias are folded into
 * the kernel's weights and bias, and its activation and saturation are the kernel's clamp
 * ({@link #low()}..{@link #high()} at most).
 *
 * @param unsigned uint8 ({@code 0..255}) when true, else int8 ({@code -128..127})
 * @param zero     the zero point, within the type's range
 */
public record Int8Format(boolean unsigned, int zero) {
    public Int8Format {
        if (zero < Quant.min(unsigned) || zero > Quant.max(unsigned)) {
            throw new IllegalArgumentException("zero point " + zero + " is outside the "
                    + (unsigned ? "uint8" : "int8") + " range");
        }
    }

    /** The smallest value a write can produce, relative to the zero point: {@code min − zero}. */
    public float low() {
        return Quant.min(unsigned) - zero;
    }

    /** The largest value a write can produce, relative to the zero point: {@code max − zero}. */
    public float high() {
        return Quant.max(unsigned) - zero;
    }
}
