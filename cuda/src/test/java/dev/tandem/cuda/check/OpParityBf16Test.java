package dev.tandem.cuda.check;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.cuda.FunctionSession;
import dev.tandem.runtime.backend.DeviceSession;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The bfloat16 session's op cases ({@link OpParity#roundedToBf16}, run by GpuCheck on a GPU), against a CPU model of
 * what the executor does in a bfloat16 session: operands rounded to bfloat16, products summed in float32, a
 * convolution's result rounded to bfloat16 before its bias is added in float32. The bounds GpuCheck uses must admit
 * that model on every case and refuse a device that gets one image wrong.
 */
class OpParityBf16Test {
    private static final Set<String> MIXED = Set.of("Conv", "ConvGradInput", "ConvGradWeight", "Gemm", "MatMul");
    private static final double ATOL = 1e-2;
    private static final double RTOL = 8e-3;

    private static List<OpParity.Case> mixedCases() {
        List<OpParity.Case> cases = OpParity.all().stream().filter(c -> MIXED.contains(c.type())).toList();
        assertThat(cases).hasSizeGreaterThanOrEqualTo(14);
        return cases;
    }

    private static float round(float f) {
        return KernelReference.fromBf16(KernelReference.toBf16(f));
    }

    @Test
    void roundingLeavesBfloat16ValuesAndOtherTypesAsTheyAre() {
        for (OpParity.Case c : mixedCases()) {
            OpParity.Case r = OpParity.roundedToBf16(c, ATOL, RTOL);
            assertThat(r.atol()).isEqualTo(ATOL);
            assertThat(r.rtol()).isEqualTo(RTOL);
            assertThat(r.known()).isEqualTo(c.known());
            for (int i = 0; i < c.inputs().length; i++) {
                Tensor was = c.inputs()[i];
                Tensor now = r.inputs()[i];
                if (was == null || was.dtype() != DType.FLOAT32) {
                    assertThat(now).as(c.name() + " input " + i).isSameAs(was);
                    continue;
                }
                float[] a = was.toFloatArray();
                float[] b = now.toFloatArray();
                int changed = 0;
                for (int k = 0; k < a.length; k++) {
                    assertThat(b[k]).isEqualTo(round(a[k]));
                    assertThat(Math.abs(b[k] - a[k])).isLessThanOrEqualTo(Math.abs(a[k]) * 0x1p-8f);
                    changed += a[k] != b[k] ? 1 : 0;
                }
                assertThat(changed).as(c.name() + " input " + i).isGreaterThan(a.length / 2);
            }
        }
    }

    @Test
    void theBoundsAdmitBfloat16ArithmeticOnEveryCase() {
        try (ThreadPool pool = new ThreadPool(1); DeviceSession device = bf16Model(false)) {
            for (OpParity.Case c : mixedCases()) {
                Outcome o = OpParity.run(OpParity.roundedToBf16(c, ATOL, RTOL), device, pool);
                assertThat(o.passed()).as(c.name() + ": " + o.detail()).isTrue();
            }
        }
    }

    @Test
    void unroundedInputsWouldNeedLooserBounds() {
        // The reason for rounding first: against the CPU on the original inputs, the operands' rounding summed over
        // a depthwise weight gradient's 1,152 terms is beyond these bounds.
        try (ThreadPool pool = new ThreadPool(1); DeviceSession device = bf16Model(false)) {
            OpParity.Case dw = mixedCases().stream().filter(c -> c.name().equals("ConvGradWeight depthwise 3x3"))
                    .findFirst().orElseThrow();
            OpParity.Case sameBounds = new OpParity.Case(dw.name(), dw.domain(), dw.type(), dw.outputs(), dw.inputs(),
                    dw.known(), dw.attrs(), ATOL, RTOL, dw.written());
            assertThat(OpParity.run(sameBounds, device, pool).passed()).isFalse();
        }
    }

    @Test
    void aDeviceThatLosesOneImageFails() {
        try (ThreadPool pool = new ThreadPool(1); DeviceSession device = bf16Model(true)) {
            for (OpParity.Case c : mixedCases()) {
                if (!c.type().startsWith("Conv")) {
                    continue;
                }
                Outcome o = OpParity.run(OpParity.roundedToBf16(c, ATOL, RTOL), device, pool);
                assertThat(o.passed()).as(c.name() + ": " + o.detail()).isFalse();
            }
        }
    }

    /**
     * The executor's bfloat16 arithmetic on the CPU: the two operands rounded, the CPU's float32 op, a convolution's
     * result rounded before its bias. {@code loseLastImage}: the first operand's last image reads as zeros.
     */
    private static DeviceSession bf16Model(boolean loseLastImage) {
        return new FunctionSession("bfloat16 model on the CPU", plan -> inputs -> {
            String type = plan.plannedSteps().getFirst().node().opType();
            Tensor[] in = inputs.clone();
            boolean conv = type.startsWith("Conv");
            for (int i = 0; i < 2; i++) {
                float[] v = inputs[i].toFloatArray();
                for (int k = 0; k < v.length; k++) {
                    v[k] = round(v[k]);
                }
                if (i == 0 && loseLastImage && conv) {
                    int image = v.length / inputs[0].shape().dim(0);
                    java.util.Arrays.fill(v, v.length - image, v.length, 0f);
                }
                in[i] = Tensor.allocate(DType.FLOAT32, inputs[i].shape());
                in[i].copyFrom(v);
            }
            Tensor bias = null;
            if (type.equals("Conv") && in.length > 2) {
                bias = in[2];
                in[2] = Tensor.allocate(DType.FLOAT32, bias.shape());
                in[2].copyFrom(new float[(int) bias.size()]);
            }
            Tensor[] out = plan.run(in);
            if (conv) {
                float[] y = out[0].toFloatArray();
                int channels = out[0].shape().dim(1);
                long plane = out[0].size() / out[0].shape().dim(0) / channels;
                float[] b = bias == null ? null : bias.toFloatArray();
                for (int k = 0; k < y.length; k++) {
                    y[k] = round(y[k]) + (b == null ? 0f : b[(int) (k / plane % channels)]);
                }
                out[0].copyFrom(y);
            }
            for (int i = 0; i < in.length; i++) {
                if (in[i] != inputs[i]) {
                    in[i].close();
                }
            }
            return out;
        });
    }
}
