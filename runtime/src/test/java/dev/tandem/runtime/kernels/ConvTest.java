package dev.tandem.runtime.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.kernels.reference.ReferenceConv;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link Conv2d} on every path against {@link ReferenceConv}, at this JVM's SIMD width. */
@Tag("simd")
class ConvTest extends PooledKernelTest {
    private static Sgemm gemm;

    @BeforeAll
    static void start() {
        gemm = new Sgemm(pool);
    }


    record Case(int n, int cin, int cout, int h, int w, ConvParams p, boolean bias, Activation act,
                Conv2d.Path expect) {
    }

    static List<Case> cases() {
        List<Case> out = new ArrayList<>();
        Activation[] acts = {Activation.NONE, Activation.RELU, Activation.RELU6, Activation.SILU,
            Activation.HARDSWISH, Activation.SIGMOID};
        // pointwise: 1x1, stride 1, no padding, with and without groups
        out.add(new Case(1, 7, 13, 5, 9, ConvParams.square(1, 1, 0), true, acts[1], Conv2d.Path.POINTWISE));
        out.add(new Case(2, 16, 64, 7, 7, ConvParams.square(1, 1, 0).withGroups(4), false, acts[0],
                Conv2d.Path.POINTWISE));
        out.add(new Case(1, 3, 5, 1, 1, ConvParams.square(1, 1, 0), true, acts[2], Conv2d.Path.POINTWISE));
        // stride 1 with padding, dilation, non-square kernels, asymmetric padding, groups
        out.add(new Case(1, 3, 8, 13, 17, ConvParams.square(3, 1, 1), true, acts[1], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(2, 5, 7, 11, 10, ConvParams.square(3, 1, 0), false, acts[3], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 4, 6, 9, 23, new ConvParams(1, 3, 1, 1, 0, 1, 0, 2, 1, 1, 1), true, acts[4],
                Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 6, 9, 14, 15, new ConvParams(3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 3), true, acts[0],
                Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 2, 3, 31, 29, new ConvParams(5, 5, 1, 1, 2, 1, 3, 2, 1, 1, 1), true, acts[5],
                Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 64, 67, 7, 7, ConvParams.square(3, 1, 1), true, acts[1], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 1, 1, 1, 1, ConvParams.square(3, 1, 1), true, acts[0], Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 3, 4, 4, 4, ConvParams.square(1, 1, 1), true, acts[0], Conv2d.Path.IMPLICIT_GEMM));
        // strided and general
        out.add(new Case(1, 3, 16, 29, 31, ConvParams.square(7, 2, 3), false, acts[1], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(2, 8, 12, 15, 14, ConvParams.square(3, 2, 1), true, acts[2], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 8, 16, 9, 9, ConvParams.square(1, 2, 0), false, acts[0], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 6, 4, 17, 13, new ConvParams(3, 2, 3, 2, 1, 0, 2, 1, 2, 1, 2), true, acts[3],
                Conv2d.Path.IMPLICIT_GEMM));
        // strides 3 and (2, 1), dilation with stride, taps touching only some stride phases
        out.add(new Case(1, 4, 5, 23, 19, new ConvParams(5, 3, 3, 3, 2, 1, 2, 1, 1, 2, 1), true, acts[1],
                Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(2, 3, 6, 12, 11, new ConvParams(3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1), false, acts[0],
                Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 5, 7, 16, 16, new ConvParams(3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1), true, acts[4],
                Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 64, 33, 9, 10, new ConvParams(1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1), true, acts[2],
                Conv2d.Path.IMPLICIT_GEMM));
        // no padding and sizes divisible by the stride: the phase buffer is filled without zeroing first
        out.add(new Case(2, 8, 16, 14, 12, ConvParams.square(1, 2, 0), true, acts[1], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 3, 5, 16, 10, ConvParams.square(3, 2, 0), true, acts[0], Conv2d.Path.IMPLICIT_GEMM));
        // depthwise: stride 1 and 2, dilation, padding wider than the kernel reach
        out.add(new Case(1, 32, 32, 14, 14, ConvParams.square(3, 1, 1).withGroups(32), true, acts[2],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(2, 7, 7, 13, 37, ConvParams.square(3, 2, 1).withGroups(7), true, acts[4],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 5, 5, 19, 21, new ConvParams(5, 5, 1, 1, 4, 4, 4, 4, 2, 2, 5), false, acts[3],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 3, 3, 2, 3, new ConvParams(3, 3, 1, 1, 3, 3, 3, 3, 1, 1, 3), true, acts[0],
                Conv2d.Path.DEPTHWISE));
        // whole channel blocks on narrow planes (DepthwiseChannels' register transposes), with a partial block after
        // them, stride 2, a batch, and a 5x5 kernel with SAME-style padding
        out.add(new Case(2, 40, 40, 13, 11, ConvParams.square(3, 2, 1).withGroups(40), true, acts[1],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 32, 32, 14, 14, new ConvParams(5, 5, 2, 2, 1, 1, 2, 2, 1, 1, 32), true, acts[2],
                Conv2d.Path.DEPTHWISE));
        // the padded fast path: 5x5 stride 2 (EfficientNet), asymmetric SAME-style padding, odd and tiny widths
        out.add(new Case(1, 6, 6, 17, 23, new ConvParams(5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 6), true, acts[1],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(2, 3, 3, 16, 15, new ConvParams(3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 3), true, acts[2],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 9, 9, 7, 7, new ConvParams(5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 9), false, acts[0],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 4, 4, 33, 1, new ConvParams(3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 4), true, acts[3],
                Conv2d.Path.DEPTHWISE));
        // 3x3 stride 1 and 2 over planes wider than 16 (Depthwise3x3): row ends inside a vector, no padding,
        // asymmetric and wide padding, one-row planes, clamp and non-clamp activations, two images
        out.add(new Case(1, 3, 3, 9, 45, ConvParams.square(3, 1, 1).withGroups(3), true, acts[2],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(2, 4, 4, 6, 37, new ConvParams(3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 4), false, acts[0],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 5, 5, 11, 50, new ConvParams(3, 3, 2, 2, 0, 1, 1, 0, 1, 1, 5), true, acts[1],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 2, 2, 1, 40, ConvParams.square(3, 1, 1).withGroups(2), true, acts[5],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 3, 3, 20, 67, new ConvParams(3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 3), true, acts[3],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(2, 3, 3, 18, 36, ConvParams.square(3, 2, 1).withGroups(3), true, acts[2],
                Conv2d.Path.DEPTHWISE));
        // 5x5 stride 1 with pads of 2 over planes wider than 8 (DepthwiseFlat.plane5): whole vectors stored straight
        // with a clamp and two images, SiLU (stored, then applied), a plane of 99 values (a partial last vector),
        // a one-row plane without bias, a larger plane with a sigmoid
        out.add(new Case(2, 6, 6, 28, 28, ConvParams.square(5, 1, 2).withGroups(6), true, acts[2],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 5, 5, 14, 14, ConvParams.square(5, 1, 2).withGroups(5), true, acts[3],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 3, 3, 11, 9, ConvParams.square(5, 1, 2).withGroups(3), true, acts[4],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 4, 4, 1, 30, ConvParams.square(5, 1, 2).withGroups(4), false, acts[0],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 2, 2, 40, 50, ConvParams.square(5, 1, 2).withGroups(2), true, acts[5],
                Conv2d.Path.DEPTHWISE));
        // 5x5 stride 2 with pads of 2 over even sizes, outputs wider than 8 (DepthwiseFlat.plane5Stride2): a clamp
        // with two images, SiLU, an output of 90 values (a partial last vector) with a hard swish, a two-row input
        out.add(new Case(2, 4, 4, 56, 56, ConvParams.square(5, 2, 2).withGroups(4), true, acts[2],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 3, 3, 28, 28, ConvParams.square(5, 2, 2).withGroups(3), true, acts[3],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 3, 3, 20, 18, ConvParams.square(5, 2, 2).withGroups(3), false, acts[4],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 2, 2, 2, 40, ConvParams.square(5, 2, 2).withGroups(2), true, acts[1],
                Conv2d.Path.DEPTHWISE));
        // 3x3 stride 1 with pads of 1 over planes wider than 8 (DepthwiseFlat): planes whose size is not a whole
        // number of vectors, planes of at least DIRECT_MIN values (inner rows read in place) with two images and a
        // clamp, the same with non-clamp activations (the padded copy only), one-row and one-column-past-8 planes
        out.add(new Case(1, 5, 5, 9, 9, ConvParams.square(3, 1, 1).withGroups(5), true, acts[2],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(2, 3, 3, 33, 40, ConvParams.square(3, 1, 1).withGroups(3), true, acts[2],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 2, 2, 37, 31, ConvParams.square(3, 1, 1).withGroups(2), false, acts[0],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 3, 3, 32, 35, ConvParams.square(3, 1, 1).withGroups(3), true, acts[3],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(2, 4, 4, 3, 64, ConvParams.square(3, 1, 1).withGroups(4), true, acts[1],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 6, 6, 28, 28, ConvParams.square(3, 1, 1).withGroups(6), true, acts[4],
                Conv2d.Path.DEPTHWISE));
        // 3x3 stride 2 with pads of 1 over even-sized inputs with outputs wider than 8 (DepthwiseFlat's phase
        // planes): rows that are not a whole number of vector pairs, two images, a non-clamp activation, a last row
        // split from the copy; odd sizes take the row kernel (cases above)
        out.add(new Case(1, 5, 5, 20, 18, ConvParams.square(3, 2, 1).withGroups(5), true, acts[2],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(2, 3, 3, 40, 36, ConvParams.square(3, 2, 1).withGroups(3), true, acts[1],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 2, 2, 18, 34, ConvParams.square(3, 2, 1).withGroups(2), false, acts[3],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 3, 3, 2, 64, ConvParams.square(3, 2, 1).withGroups(3), true, acts[0],
                Conv2d.Path.DEPTHWISE));
        // small planes run with the vector across channels: channel counts that leave a partial block, two images,
        // dilation, stride 2 with odd sizes, every activation kind
        out.add(new Case(2, 20, 20, 7, 7, ConvParams.square(3, 1, 1).withGroups(20), true, acts[3],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 37, 37, 15, 13, new ConvParams(5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 37), true, acts[5],
                Conv2d.Path.DEPTHWISE));
        out.add(new Case(1, 17, 17, 11, 9, new ConvParams(3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 17), false, acts[2],
                Conv2d.Path.DEPTHWISE));
        // batches of at least two images per pool thread: one image per task, on one thread each
        out.add(new Case(9, 5, 7, 11, 10, ConvParams.square(3, 1, 1), true, acts[1], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(7, 3, 16, 15, 13, ConvParams.square(3, 2, 1), false, acts[0], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(8, 32, 13, 6, 6, ConvParams.square(3, 1, 0), true, acts[2], Conv2d.Path.IMPLICIT_GEMM));
        // a grid larger than one staged block (16 channels × 9,406 grid columns): staged in two column windows
        out.add(new Case(1, 2, 16, 96, 96, ConvParams.square(3, 1, 1), true, acts[1], Conv2d.Path.IMPLICIT_GEMM));
        // 3x3 stride 1 with enough channels and tiles: Winograd F(2x2, 3x3) (see winogradOnlyWhereItPays), with
        // a clamp activation, a non-clamp one, two images, asymmetric padding and odd sizes
        out.add(new Case(1, 32, 64, 14, 14, ConvParams.square(3, 1, 1), true, acts[1], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(2, 40, 70, 15, 13, ConvParams.square(3, 1, 1), true, acts[3], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 33, 64, 17, 16, new ConvParams(3, 3, 1, 1, 0, 1, 2, 0, 1, 1, 1), false, acts[2],
                Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 64, 32, 28, 28, ConvParams.square(3, 1, 1), true, acts[0], Conv2d.Path.IMPLICIT_GEMM));
        // one input channel, 3x3 stride 1 (SingleChannel3x3; see directKernelsForFewInputChannelsWhereTheyApply):
        // FashionNet's first layer on one image (split into row bands), a batch with rows wider than two vectors and
        // an odd row count, asymmetric padding with a non-clamp activation, a one-row image, no padding
        out.add(new Case(1, 1, 32, 28, 28, ConvParams.square(3, 1, 1), false, acts[0], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(9, 1, 5, 13, 37, ConvParams.square(3, 1, 1), true, acts[1], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 1, 3, 7, 5, new ConvParams(3, 3, 1, 1, 0, 2, 1, 0, 1, 1, 1), true, acts[3],
                Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(2, 1, 4, 1, 20, ConvParams.square(3, 1, 1), true, acts[2], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 1, 6, 5, 3, ConvParams.square(3, 1, 0), false, acts[4], Conv2d.Path.IMPLICIT_GEMM));
        // 1 to 4 input channels, 3x3 stride 2 (StemConv3x3s2): MobileNetV2's stem on a smaller image (row bands),
        // a batch with odd sizes and several column-vector pairs, asymmetric (SAME-style) padding with a non-clamp
        // activation and an output-channel count that is not a multiple of four, one channel, no padding
        out.add(new Case(1, 3, 32, 40, 40, ConvParams.square(3, 2, 1), true, acts[2], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(5, 3, 8, 27, 75, ConvParams.square(3, 2, 1), false, acts[1], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 4, 7, 9, 12, new ConvParams(3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 1), true, acts[3],
                Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(2, 1, 5, 8, 3, ConvParams.square(3, 2, 1), true, acts[0], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(1, 2, 6, 7, 9, ConvParams.square(3, 2, 0), true, acts[4], Conv2d.Path.IMPLICIT_GEMM));
        // stored in place: whole vector pairs then one vector (48 columns at 16 lanes: MobileNetV2's 112 is 3 pairs
        // and one), and 21 columns: whole vectors, then a tail through the row buffer, with a last group of two
        // channels that goes through the buffer whole
        out.add(new Case(1, 3, 8, 96, 96, ConvParams.square(3, 2, 1), true, acts[2], Conv2d.Path.IMPLICIT_GEMM));
        out.add(new Case(2, 3, 6, 11, 41, ConvParams.square(3, 2, 1), true, acts[1], Conv2d.Path.IMPLICIT_GEMM));
        // depth multiplier 2 is a grouped conv, not depthwise
        out.add(new Case(1, 4, 8, 10, 10, ConvParams.square(3, 1, 1).withGroups(4), true, acts[1],
                Conv2d.Path.IMPLICIT_GEMM));
        return out;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matchesReference(Case c) {
        Random r = new Random(c.hashCode());
        int cpg = c.cin / c.p.groups();
        float[] x = KernelTestSupport.random(r, c.n * c.cin * c.h * c.w);
        float[] wt = KernelTestSupport.random(r, c.cout * cpg * c.p.kernelH() * c.p.kernelW());
        float[] bias = c.bias ? KernelTestSupport.random(r, c.cout) : null;
        double[] want = ReferenceConv.conv2d(x, c.n, c.cin, c.h, c.w, wt, c.cout, bias, c.p, c.act);
        double[] bound = ReferenceConv.conv2d(KernelTestSupport.abs(x), c.n, c.cin, c.h, c.w, KernelTestSupport.abs(wt), c.cout,
                bias == null ? null : KernelTestSupport.abs(bias), c.p, Activation.NONE);
        int oh = c.p.outH(c.h), ow = c.p.outW(c.w);
        try (Tensor in = Tensor.ofFloats(Shape.of(c.n, c.cin, c.h, c.w), x);
             Tensor w = Tensor.ofFloats(Shape.of(c.cout, cpg, c.p.kernelH(), c.p.kernelW()), wt);
             Tensor out = Tensor.allocate(DType.FLOAT32, Shape.of(c.n, c.cout, oh, ow))) {
            Conv2d conv = Conv2d.prepare(c.p, c.cin, w, bias, c.act);
            assertThat(conv.path()).isEqualTo(c.expect);
            // the depthwise kernels take other paths for their first calls in a JVM (see their setWarm): both
            for (boolean warm : new boolean[]{false, true}) {
                Depthwise3x3.setWarm(warm);
                DepthwiseChannels.setWarm(warm);
                conv.forward(gemm, in, out);
                float[] got = out.toFloatArray();
                assertThat(got).hasSize(want.length);
                for (int i = 0; i < got.length; i++) {
                    assertThat((double) got[i]).as("%s warm %s element %d", c, warm, i)
                            .isCloseTo(want[i], Offset.offset(1e-5 * bound[i] + 1e-6));
                }
            }
        } finally {
            Depthwise3x3.setWarm(true);
            DepthwiseChannels.setWarm(true);
        }
    }

    /**
     * With a residual (added before the activation): the paths whose epilogue differs when something is read
     * back — depthwise (activation after the add, not in the row kernel), pointwise and implicit GEMM.
     */
    @ParameterizedTest
    @MethodSource("cases")
    void residualIsAddedBeforeTheActivation(Case c) {
        Random r = new Random(c.hashCode() + 1);
        int cpg = c.cin / c.p.groups();
        float[] x = KernelTestSupport.random(r, c.n * c.cin * c.h * c.w);
        float[] wt = KernelTestSupport.random(r, c.cout * cpg * c.p.kernelH() * c.p.kernelW());
        float[] bias = c.bias ? KernelTestSupport.random(r, c.cout) : null;
        double[] plain = ReferenceConv.conv2d(x, c.n, c.cin, c.h, c.w, wt, c.cout, bias, c.p, Activation.NONE);
        double[] bound = ReferenceConv.conv2d(KernelTestSupport.abs(x), c.n, c.cin, c.h, c.w, KernelTestSupport.abs(wt), c.cout,
                bias == null ? null : KernelTestSupport.abs(bias), c.p, Activation.NONE);
        float[] res = KernelTestSupport.random(r, plain.length);
        int oh = c.p.outH(c.h), ow = c.p.outW(c.w);
        try (Tensor in = Tensor.ofFloats(Shape.of(c.n, c.cin, c.h, c.w), x);
             Tensor w = Tensor.ofFloats(Shape.of(c.cout, cpg, c.p.kernelH(), c.p.kernelW()), wt);
             Tensor residual = Tensor.ofFloats(Shape.of(c.n, c.cout, oh, ow), res);
             Tensor out = Tensor.allocate(DType.FLOAT32, Shape.of(c.n, c.cout, oh, ow))) {
            Conv2d.prepare(c.p, c.cin, w, bias, c.act).forward(gemm, in, residual, out);
            float[] got = out.toFloatArray();
            for (int i = 0; i < got.length; i++) {
                double want = c.act.apply((float) (plain[i] + res[i]));
                assertThat((double) got[i]).as("%s element %d", c, i)
                        .isCloseTo(want, Offset.offset(1e-5 * (bound[i] + Math.abs(res[i])) + 1e-6));
            }
        }
    }

    /**
     * 8-bit input and output (the quantized convolution, {@link Int8Format}, {@link Requantization}): exactly the float
     * path's accumulators on the input's integer values, requantized per channel; on every path (the depthwise plane
     * kernels, the channel-vector kernel, pointwise and implicit GEMM), uint8 and int8 either way.
     */
    @ParameterizedTest
    @MethodSource("cases")
    void int8InputAndOutputRequantizeTheFloatAccumulators(Case c) {
        Random r = new Random(c.hashCode() + 2);
        boolean unsigned = (c.hashCode() & 1) == 0;
        Int8Format fx = new Int8Format(unsigned, unsigned ? 100 + r.nextInt(50) : r.nextInt(21) - 10);
        Int8Format fy = new Int8Format(!unsigned, unsigned ? r.nextInt(21) - 10 : 30 + r.nextInt(50));
        int cpg = c.cin / c.p.groups();
        int k = cpg * c.p.kernelH() * c.p.kernelW();
        byte[] q = new byte[c.n * c.cin * c.h * c.w];
        float[] x = new float[q.length];
        for (int i = 0; i < q.length; i++) {
            int v = Quant.min(unsigned) + r.nextInt(256);
            q[i] = (byte) v;
            x[i] = v - fx.zero();
        }
        float[] wt = new float[c.cout * k];
        for (int i = 0; i < wt.length; i++) {
            wt[i] = r.nextInt(255) - 127;
        }
        // per-channel factors that spread the outputs over the 8-bit range, some saturating; a ReLU6-like bound
        float[] scale = new float[c.cout], add = new float[c.cout];
        for (int ch = 0; ch < c.cout; ch++) {
            scale[ch] = (float) ((0.5 + r.nextDouble()) / (74 * 74 * 0.6 * Math.sqrt(k)) * 60);
            add[ch] = r.nextFloat() * 40 - 20;
        }
        float lo = fy.low() + (c.bias ? 0 : 10), hi = Math.min(fy.high(), fy.low() + 200);
        Requantization rq = new Requantization(fy, scale, add, lo, hi);
        int oh = c.p.outH(c.h), ow = c.p.outW(c.w);
        Shape xs = Shape.of(c.n, c.cin, c.h, c.w), ys = Shape.of(c.n, c.cout, oh, ow);
        try (Tensor in = Tensor.ofFloats(xs, x);
             Tensor w = Tensor.ofFloats(Shape.of(c.cout, cpg, c.p.kernelH(), c.p.kernelW()), wt);
             Tensor out = Tensor.allocate(DType.FLOAT32, ys);
             Tensor in8 = Tensor.allocate(unsigned ? DType.UINT8 : DType.INT8, xs);
             Tensor out8 = Tensor.allocate(fy.unsigned() ? DType.UINT8 : DType.INT8, ys)) {
            MemorySegment.copy(q, 0, in8.segment(), ValueLayout.JAVA_BYTE, in8.offset(), q.length);
            Conv2d conv = Conv2d.prepare(c.p, c.cin, w, null, Activation.NONE);
            conv.forward(gemm, in, out);
            float[] acc = out.toFloatArray();
            assertThat(conv.writesInt8(gemm)).isEqualTo(k <= gemm.depthBlock() || conv.path() == Conv2d.Path.DEPTHWISE);
            conv.forward(gemm, in8.segment(), in8.offset(), fx, c.n, c.h, c.w, out8.segment(), out8.offset(), rq);
            long[] got = Elements.toLongs(out8);
            int plane = oh * ow, saturated = 0;
            long[] want = new long[got.length];
            for (int i = 0; i < got.length; i++) {
                int ch = i / plane % c.cout;
                float v = Math.min(Math.max(Math.fma(acc[i], scale[ch], add[ch]), lo), hi);
                saturated += v == lo || v == hi ? 1 : 0;
                want[i] = (long) Math.rint(v) + fy.zero();
                assertThat(got[i]).as("%s element %d (accumulator %s)", c, i, acc[i]).isEqualTo(want[i]);
            }
            assertThat(saturated).as("clamped outputs").isLessThan(Math.max(got.length, 50));
            // float32 input, 8-bit output; 8-bit input, float32 output
            conv.forward(gemm, in.segment(), in.offset(), null, c.n, c.h, c.w, out8.segment(), out8.offset(), rq);
            assertThat(Elements.toLongs(out8)).isEqualTo(want);
            conv.forward(gemm, in8.segment(), in8.offset(), fx, c.n, c.h, c.w, out.segment(), out.offset(), null);
            assertThat(out.toFloatArray()).isEqualTo(acc);
        }
    }

    @Test
    void directKernelsForFewInputChannelsWhereTheyApply() {
        org.junit.jupiter.api.Assumptions.assumeTrue(SingleChannel3x3.ENABLED && StemConv3x3s2.ENABLED,
                "switched off by -Dtandem.conv.singleChannel or -Dtandem.conv.stem");
        try (Tensor w1 = Tensor.ofFloats(Shape.of(8, 1, 3, 3), new float[72]);
             Tensor w2 = Tensor.ofFloats(Shape.of(8, 2, 3, 3), new float[144])) {
            assertThat(Conv2d.prepare(ConvParams.square(3, 1, 1), 1, w1, null, Activation.NONE).singleChannel())
                    .isTrue();
            assertThat(Conv2d.prepare(ConvParams.square(3, 2, 1), 1, w1, null, Activation.NONE).singleChannel())
                    .isFalse();
            assertThat(Conv2d.prepare(new ConvParams(3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1), 1, w1, null,
                    Activation.NONE).singleChannel()).isFalse();
            assertThat(Conv2d.prepare(ConvParams.square(3, 1, 1), 2, w2, null, Activation.NONE).singleChannel())
                    .isFalse();
            assertThat(Conv2d.prepare(ConvParams.square(3, 2, 1), 2, w2, null, Activation.NONE).stem()).isTrue();
            assertThat(Conv2d.prepare(ConvParams.square(3, 1, 1), 2, w2, null, Activation.NONE).stem()).isFalse();
        }
    }

    @Test
    void phaseOrderOnlyForTheStrideTwoDepthwiseConvolutionsTheFlatKernelTakes() {
        try (Tensor dw = Tensor.ofFloats(Shape.of(8, 1, 3, 3), new float[72]);
             Tensor pw = Tensor.ofFloats(Shape.of(8, 8, 1, 1), new float[64])) {
            Conv2d s2 = Conv2d.prepare(ConvParams.square(3, 2, 1).withGroups(8), 8, dw, null, Activation.RELU6);
            assertThat(s2.takesPhases(18, 18)).isEqualTo(!"false".equals(System.getProperty("tandem.dw.flat")));
            assertThat(s2.takesPhases(16, 16)).as("8 columns out: the channel kernel's").isFalse();
            assertThat(s2.takesPhases(18, 17)).as("odd width").isFalse();
            assertThat(Conv2d.prepare(ConvParams.square(3, 1, 1).withGroups(8), 8, dw, null, Activation.RELU6)
                    .takesPhases(18, 18)).isFalse();
            assertThat(Conv2d.prepare(ConvParams.square(1, 1, 0), 8, pw, null, Activation.RELU6)
                    .takesPhases(18, 18)).isFalse();
            assertThatThrownBy(() -> s2.forwardPhases(null, null, 0, 16, 16, null, 0))
                    .isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void winogradOnlyWhereItPays() {
        try (Tensor w64 = Tensor.ofFloats(Shape.of(64, 32, 3, 3), new float[64 * 32 * 9]);
             Tensor w16 = Tensor.ofFloats(Shape.of(64, 16, 3, 3), new float[64 * 16 * 9]);
             Tensor w32 = Tensor.ofFloats(Shape.of(32, 64, 3, 3), new float[32 * 64 * 9]);
             Tensor w3232 = Tensor.ofFloats(Shape.of(32, 32, 3, 3), new float[32 * 32 * 9])) {
            Conv2d conv = Conv2d.prepare(ConvParams.square(3, 1, 1), 32, w64, null, Activation.RELU);
            assertThat(conv.usesWinograd(14, 14)).isEqualTo(Conv2d.WINOGRAD);
            assertThat(conv.usesWinograd(13, 13)).as("7x7 tiles").isEqualTo(Conv2d.WINOGRAD);
            assertThat(conv.usesWinograd(12, 12)).as("6x6 tiles: too few").isFalse();
            assertThat(conv.forceDirect().usesWinograd(14, 14)).isFalse();
            assertThat(Conv2d.prepare(ConvParams.square(3, 1, 1), 16, w16, null, Activation.RELU).usesWinograd(56, 56))
                    .as("16 input channels").isFalse();
            Conv2d narrow = Conv2d.prepare(ConvParams.square(3, 1, 1), 64, w32, null, Activation.RELU);
            assertThat(narrow.usesWinograd(28, 28)).as("32 output channels, 14x14 tiles").isEqualTo(Conv2d.WINOGRAD);
            assertThat(narrow.usesWinograd(26, 26)).as("32 output channels, 13x13 tiles").isFalse();
            Conv2d c3232 = Conv2d.prepare(ConvParams.square(3, 1, 1), 32, w3232, null, Activation.RELU);
            int f4 = Conv2d.WINOGRAD ? 4 : 0;
            assertThat(c3232.winogradTile(56, 56)).as("32 -> 32 channels: F(4x4) only").isEqualTo(f4);
            assertThat(c3232.winogradTile(28, 28)).as("32 -> 32 channels, 7x7 tiles of 4x4").isEqualTo(f4);
            assertThat(c3232.winogradTile(24, 24)).as("32 -> 32 channels, 6x6 tiles of 4x4").isZero();
            assertThat(c3232.winogradTile(14, 14)).as("32 -> 32 channels at 14x14").isZero();
            assertThat(narrow.winogradTile(28, 28)).as("32 -> 64 channels keep F(2x2)").isEqualTo(f4 / 2);
            assertThat(Conv2d.prepare(ConvParams.square(3, 2, 1), 32, w64, null, Activation.RELU).usesWinograd(56, 56))
                    .as("stride 2").isFalse();
        }
    }

    @Test
    void preparedForOneImageSizeKeepsOnlyWinogradWeightsWhereThatSizeTakesWinograd() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Conv2d.WINOGRAD, "Winograd switched off");
        Random r = new Random(11);
        int cin = 32, cout = 64;
        ConvParams p = ConvParams.square(3, 1, 1);
        float[] wt = KernelTestSupport.random(r, cout * cin * 9);
        float[] bias = KernelTestSupport.random(r, cout);
        try (Tensor w = Tensor.ofFloats(Shape.of(cout, cin, 3, 3), wt)) {
            Conv2d only = Conv2d.prepareFor(p, cin, w, bias, Activation.RELU, 14, 14);
            assertThat(only.winogradOnly()).isTrue();
            assertThatThrownBy(only::forceDirect).isInstanceOf(IllegalStateException.class);
            Conv2d both = Conv2d.prepare(p, cin, w, bias, Activation.RELU);
            assertThat(both.winogradOnly()).isFalse();
            assertThat(Conv2d.prepareFor(p, cin, w, bias, Activation.RELU, 12, 12).winogradOnly())
                    .as("6x6 tiles take the direct path: packed as usual").isFalse();
            assertThat(Conv2d.prepareFor(ConvParams.square(3, 2, 1), cin, w, bias, Activation.RELU, 56, 56)
                    .winogradOnly()).as("stride 2").isFalse();
            // the planned size, and sizes where the usual convolution would go direct: within Winograd's rounding
            for (int[] size : new int[][] {{14, 14}, {5, 7}, {1, 1}, {2, 31}}) {
                int h = size[0], wd = size[1];
                float[] x = KernelTestSupport.random(r, 2 * cin * h * wd);
                double[] want = ReferenceConv.conv2d(x, 2, cin, h, wd, wt, cout, bias, p, Activation.RELU);
                try (Tensor in = Tensor.ofFloats(Shape.of(2, cin, h, wd), x);
                     Tensor out = Tensor.allocate(DType.FLOAT32, Shape.of(2, cout, h, wd))) {
                    only.forward(gemm, in, out);
                    float[] got = out.toFloatArray();
                    double scale = 0;
                    for (double v : want) {
                        scale = Math.max(scale, Math.abs(v));
                    }
                    for (int i = 0; i < got.length; i++) {
                        assertThat((double) got[i]).as("%dx%d element %d", h, wd, i)
                                .isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-5 * scale + 1e-6));
                    }
                }
            }
        }
    }

    @Test
    void int8OutputIsRefusedWhereItCannotBeWritten() {
        int cin = gemm.depthBlock() / 9 + 1;
        Int8Format f = new Int8Format(true, 0);
        Requantization rq = new Requantization(f, new float[4], new float[4], 0, 255);
        try (Tensor w = Tensor.allocate(DType.FLOAT32, Shape.of(4, cin, 3, 3));
             Tensor in = Tensor.allocate(DType.UINT8, Shape.of(1, cin, 5, 5));
             Tensor out = Tensor.allocate(DType.UINT8, Shape.of(1, 4, 5, 5))) {
            Conv2d conv = Conv2d.prepare(ConvParams.square(3, 1, 1), cin, w, null, Activation.NONE);
            assertThat(conv.writesInt8(gemm)).isFalse();
            assertThatThrownBy(() -> conv.forward(gemm, in.segment(), in.offset(), f, 1, 5, 5, out.segment(),
                    out.offset(), rq)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("at most " + gemm.depthBlock()).hasMessageContaining("write float32");
            Conv2d relu = Conv2d.prepare(ConvParams.square(3, 1, 1), cin, w, null, Activation.RELU);
            assertThatThrownBy(() -> relu.forward(gemm, in.segment(), in.offset(), f, 1, 5, 5, out.segment(),
                    out.offset(), rq)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("no bias and no activation");
        }
        assertThatThrownBy(() -> new Requantization(f, new float[1], new float[1], -1, 10))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("within [0.0, 255.0]");
    }

    /**
     * The flat depthwise kernel reads a row's last column as the left neighbour of the next row's first: that lane
     * is masked, not multiplied by zero, so an infinite value there leaves the next row's first output finite. Both
     * its paths: a plane read through the padded copy, and one large enough to be read in place.
     */
    @Test
    void flatDepthwiseKeepsAnInfiniteValueOutOfTheNextRow() {
        for (int stride : new int[] {1, 2}) {
            for (int size : new int[] {20, 40}) {
                int c = 2, out = size / stride;
                ConvParams p = ConvParams.square(3, stride, 1).withGroups(c);
                Random r = new Random(size);
                float[] x = KernelTestSupport.random(r, c * size * size);
                x[5 * size + size - 1] = Float.POSITIVE_INFINITY;                       // channel 0, row 5, last column
                x[size * size + size / 2 * size + size - 1] = Float.NEGATIVE_INFINITY;  // channel 1, a middle row
                x[2 * size * size - 1] = Float.NEGATIVE_INFINITY;                       // channel 1, its last value
                float[] wt = KernelTestSupport.random(r, c * 9);
                double[] want = ReferenceConv.conv2d(x, 1, c, size, size, wt, c, null, p, Activation.NONE);
                try (Tensor in = Tensor.ofFloats(Shape.of(1, c, size, size), x);
                     Tensor w = Tensor.ofFloats(Shape.of(c, 1, 3, 3), wt);
                     Tensor o = Tensor.allocate(DType.FLOAT32, Shape.of(1, c, out, out))) {
                    Conv2d.prepare(p, c, w, null, Activation.RELU6).forward(gemm, in, o);
                    float[] got = o.toFloatArray();
                    for (int i = 0; i < got.length; i++) {
                        double clamped = Double.isNaN(want[i]) ? Double.NaN : Math.min(6, Math.max(0, want[i]));
                        if (Double.isNaN(clamped)) {
                            assertThat(got[i]).as("stride %d size %d element %d", stride, size, i).isNaN();
                        } else {
                            assertThat((double) got[i]).as("stride %d size %d element %d", stride, size, i)
                                    .isCloseTo(clamped, Offset.offset(1e-4));
                        }
                    }
                    int nextRow = (5 / stride + 1) * out;
                    assertThat(got[nextRow]).as("stride %d: the next output row's first value", stride).isNotNaN();
                }
            }
        }
    }

    @Test
    void rejectsWrongShapesWithTheExpectedShape() {
        try (Tensor w = Tensor.allocate(DType.FLOAT32, Shape.of(8, 3, 3, 3));
             Tensor in = Tensor.allocate(DType.FLOAT32, Shape.of(1, 4, 8, 8));
             Tensor in3 = Tensor.allocate(DType.FLOAT32, Shape.of(1, 3, 8, 8));
             Tensor badOut = Tensor.allocate(DType.FLOAT32, Shape.of(1, 8, 7, 7))) {
            Conv2d conv = Conv2d.prepare(ConvParams.square(3, 1, 1), 3, w, null, Activation.NONE);
            assertThatThrownBy(() -> conv.forward(gemm, in, badOut)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[N, 3, H, W]").hasMessageContaining("[1, 4, 8, 8]");
            assertThatThrownBy(() -> conv.forward(gemm, in3, badOut)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[1, 8, 8, 8]");
            assertThatThrownBy(() -> Conv2d.prepare(ConvParams.square(3, 1, 1), 6, w, null, Activation.NONE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("6 input channels");
            assertThatThrownBy(() -> Conv2d.prepare(ConvParams.square(3, 1, 1), 3, w, new float[3], Activation.NONE))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bias has 3 values");
            assertThatThrownBy(() -> ConvParams.square(5, 1, 0).outH(3))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit");
        }
    }
}
