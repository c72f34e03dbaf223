package dev.tandem.runtime.ops.quant;

import dev.tandem.runtime.ops.OpRegistry;

/**
 * Registers the quantization ops: the ONNX ones and the fused {@code dev.tandem.QConv}, {@code QGemm},
 * {@code QLookup}, {@code QAdd}, {@code QMul} and {@code QGlobalAveragePool}.
 */
public final class QuantOps {
    private QuantOps() {
    }

    public static void register(OpRegistry r) {
        r.add(new QuantizeLinear());
        r.add(new DequantizeLinear());
        r.add(new DynamicQuantizeLinear());
        r.add(new MatMulInteger());
        r.add(new QLinearMatMul());
        r.add(new ConvInteger());
        r.add(new QLinearConv());
        r.add(new QConv());
        r.add(new QGemm());
        r.add(new QLookup());
        r.add(new QAdd());
        r.add(new QMul());
        r.add(new QGlobalAveragePool());
    }
}
