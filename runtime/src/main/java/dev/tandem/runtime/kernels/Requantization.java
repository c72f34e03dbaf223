package dev.tandem.runtime.kernels;

/**
 * How a kernel writes its float accumulators as 8-bit output (the quantized convolution): the value of output channel
 * c is {@code v = fma(acc, scale[c], bias[c])}, stored as {@code rint(clamp(v, lo, hi)) + zero} (round half to even,
 * NaN to lo) in {@link #format()}. With integer-valued operands the accumulators are the exact integer sums (below
 * 2²⁴), so the result is the integer requantization ONNX specifies, bit for bit what ONNX Runtime's integer kernels
 * give.
 *
 * @param scale per output channel: {@code x_scale · w_scale[c] / y_scale}
 * @param bias  per output channel: {@code B[c] / y_scale}
 * @param lo    the smallest value written, relative to the zero point (the type's {@code min − zero} or a fused
 *              activation's bound); {@code hi} the largest
 */
public record Requantization(Int8Format format, float[] scale, float[] bias, float lo, float hi) {
    public Requantization {
        if (scale.length != bias.length) {
            throw new IllegalArgumentException("Requantization needs one scale and one bias per channel; got "
                    + scale.length + " and " + bias.length);
        }
        if (!(lo <= hi) || lo < format.low() || hi > format.high()) {
            throw new IllegalArgumentException("Requantization bounds [" + lo + ", " + hi + "] must lie within ["
                    + format.low() + ", " + format.high() + "] (the format's range relative to its zero point)");
        }
    }

    /** Output channels. */
    public int channels() {
        return scale.length;
    }

    /** Writes {@code count} accumulators of channel {@code c} from {@code src[srcOff..]} to byte {@code dstOff}. */
    void write(float[] src, int srcOff, int c, java.lang.foreign.MemorySegment dst, long dstOff, int count) {
        Quant.fromFloats(src, srcOff, scale[c], bias[c], lo, hi, format.zero(), dst, dstOff, count);
    }
}
