package dev.tandem.runtime.ops.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Float64Parity;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The float32 fast paths of the training ops ({@link TrainKernels}) against their float64 paths, on odd sizes (runs
 * shorter than a vector, tails, one-element planes), at every SIMD width (tagged simd).
 */
@Tag("simd")
class TrainFastPathTest {
    private final Float64Parity f = new Float64Parity(7);
    private final Random rnd = new Random(5);

    @AfterEach
    void close() {
        f.close();
    }

    private Float64Parity.Case node(String type) {
        return f.node(Node.TANDEM_DOMAIN, type);
    }

    @Test
    void batchNormTrainMatchesFloat64IncludingTheRunningStatistics() {
        for (int[] dims : new int[][] {{3, 5, 7, 11}, {2, 3, 1}, {4, 2, 33}, {5, 4, 17, 1}, {2, 1, 64}}) {
            int c = dims[1];
            Tensor x = f.uniform(-2f, 3f, dims);
            Tensor scale = f.uniform(0.5f, 2f, c), bias = f.random(c);
            Tensor rm32 = f.random(c), rv32 = f.uniform(0.5f, 2f, c);
            Tensor rm64 = f.widen(rm32), rv64 = f.widen(rv32);
            var n = node("BatchNormTrain").attr("momentum", 0.1f).outputs(3);
            n.in(x, scale, bias, rm32, rv32);
            Tensor[] a = n.run(new Tensor[] {x, scale, bias, rm32, rv32});
            Tensor[] b = n.run(new Tensor[] {f.widen(x), f.widen(scale), f.widen(bias), rm64, rv64});
            for (int o = 0; o < 3; o++) {
                Float64Parity.assertClose("BatchNormTrain output " + o + " " + Shape.of(dims),
                        Elements.toDoubles(a[o]), Elements.toDoubles(b[o]), 1e-4);
            }
            Float64Parity.assertClose("running mean", Elements.toDoubles(rm32), Elements.toDoubles(rm64), 1e-5);
            Float64Parity.assertClose("running var", Elements.toDoubles(rv32), Elements.toDoubles(rv64), 1e-5);
        }
    }

    @Test
    void batchNormTrainKeepsThePrecisionOfALargeMean() {
        // values 1000 ± 0.01: a one-pass Σx² formula in float would lose the variance entirely
        Tensor x = f.uniform(999.99f, 1000.01f, 8, 3, 50);
        node("BatchNormTrain").in(x, f.uniform(0.5f, 2f, 3), f.random(3), f.random(3), f.uniform(0.5f, 2f, 3))
                .outputs(3).tol(2e-3).check();
    }

    @Test
    void batchNormGradMatchesFloat64() {
        for (int[] dims : new int[][] {{3, 5, 7, 11}, {2, 3, 1}, {4, 2, 33}, {6, 4, 5, 5}}) {
            int c = dims[1];
            node("BatchNormGrad").in(f.random(dims), f.uniform(-2f, 3f, dims), f.uniform(0.5f, 2f, c),
                    f.uniform(-0.5f, 1f, c), f.uniform(0.5f, 2f, c)).outputs(3).tol(1e-3).check();
        }
    }

    @Test
    void batchNormTrainWithAFusedReluIsBatchNormThenReluBitForBit() {
        for (int[] dims : new int[][] {{3, 5, 7, 11}, {2, 3, 1}, {4, 2, 33}, {6, 4, 28, 28}}) {
            int c = dims[1];
            Tensor x = f.uniform(-2f, 3f, dims);
            Tensor scale = f.uniform(0.5f, 2f, c), bias = f.random(c);
            Tensor[] plain = node("BatchNormTrain").outputs(3).inRun(new Tensor[] {x, scale, bias, f.random(c),
                f.uniform(0.5f, 2f, c)});
            Tensor relu = f.node("", "Relu").inRun(new Tensor[] {plain[0]})[0];
            Tensor[] fused = node("BatchNormTrain").attr("activation", "Relu").outputs(3).inRun(new Tensor[] {x, scale,
                bias, f.random(c), f.uniform(0.5f, 2f, c)});
            assertThat(floats(fused[0])).as("Y %s", Shape.of(dims)).containsExactly(floats(relu));
            assertThat(floats(fused[1])).containsExactly(floats(plain[1]));
            assertThat(floats(fused[2])).containsExactly(floats(plain[2]));
            assertThat(floats(fused[0])).as("about half the outputs are cut by the Relu").contains(0f);
            // and the float64 path agrees with the float32 one
            node("BatchNormTrain").attr("activation", "Relu").in(x, scale, bias, f.random(c), f.uniform(0.5f, 2f, c))
                    .outputs(3).tol(1e-4).check();
        }
    }

    @Test
    void batchNormGradWithAFusedReluIsReluGradThenBatchNormGradBitForBit() {
        for (int[] dims : new int[][] {{3, 5, 7, 11}, {2, 3, 1}, {4, 2, 33}, {6, 4, 14, 14}}) {
            int c = dims[1];
            Tensor dz = f.random(dims), x = f.uniform(-2f, 3f, dims), z = levels(dims);
            Tensor scale = f.uniform(0.5f, 2f, c), mean = f.uniform(-0.5f, 1f, c), invstd = f.uniform(0.5f, 2f, c);
            Tensor dy = node("ActivationGrad").attr("activation", "Relu").inRun(new Tensor[] {dz, null, z})[0];
            Tensor[] plain = node("BatchNormGrad").outputs(3).inRun(new Tensor[] {dy, x, scale, mean, invstd});
            Tensor[] fused = node("BatchNormGrad").attr("activation", "Relu").outputs(3)
                    .inRun(new Tensor[] {dz, x, scale, mean, invstd, z});
            for (int o = 0; o < 3; o++) {
                assertThat(floats(fused[o])).as("output %d on %s", o, Shape.of(dims)).containsExactly(floats(plain[o]));
            }
            node("BatchNormGrad").attr("activation", "Relu").in(dz, x, scale, mean, invstd, z).outputs(3).tol(1e-3)
                    .check();
        }
    }

    @Test
    void batchNormOpsRefuseOtherActivationsAndAMissingReluOutput() {
        Tensor x = f.random(2, 3, 4), c3 = f.uniform(0.5f, 2f, 3);
        assertThatThrownBy(() -> node("BatchNormTrain").attr("activation", "Sigmoid").outputs(3)
                .inRun(new Tensor[] {x, c3, c3, c3, c3})).hasMessageContaining("activation must be");
        assertThatThrownBy(() -> node("BatchNormGrad").attr("activation", "Relu").outputs(3)
                .inRun(new Tensor[] {x, x, c3, c3, c3})).hasMessageContaining("needs the Relu's output Y as input 5");
        assertThatThrownBy(() -> node("BatchNormGrad").outputs(3).inRun(new Tensor[] {x, x, c3, c3, c3, x}))
                .hasMessageContaining("only read with activation Relu");
        assertThatThrownBy(() -> node("BatchNormGrad").attr("activation", "Relu").outputs(3)
                .inRun(new Tensor[] {x, x, c3, c3, c3, f.random(2, 3, 5)})).hasMessageContaining("must have X's shape");
    }

    private static float[] floats(Tensor t) {
        float[] a = new float[(int) t.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) Elements.getDouble(t, i);
        }
        return a;
    }

    /** Values drawn from a few levels, so that windows hold ties (the gradient goes to the first maximum). */
    private Tensor levels(int... dims) {
        Tensor t = Tensor.allocate(DType.FLOAT32, Shape.of(dims));
        for (long i = 0; i < t.size(); i++) {
            Elements.setDouble(t, i, rnd.nextInt(3));
        }
        return t;
    }

    @Test
    void maxPool2x2GradientMatchesTheGenericPathWithTiesAndOddSizes() {
        for (int[] dims : new int[][] {{2, 3, 8, 10}, {1, 2, 7, 9}, {3, 1, 2, 2}, {2, 2, 5, 3}, {1, 1, 28, 28},
            {1, 2, 6, 70}, {2, 1, 5, 67}}) {
            int oh = dims[2] / 2, ow = dims[3] / 2;
            try (Tensor x = levels(dims)) {
                Tensor dy = f.random(dims[0], dims[1], oh, ow);
                node("PoolGrad").attr("mode", "max").ints("kernel_shape", 2, 2).ints("strides", 2, 2).in(dy, x)
                        .tol(0).check();
            }
        }
    }

    @Test
    void reluGradientMatchesFloat64() {
        for (int[] dims : new int[][] {{3, 37, 11}, {5}, {1 << 15, 1}, {17}}) {
            Tensor y = levels(dims);      // 0, 1, 2: a third of the outputs sit at the kink
            node("ActivationGrad").attr("activation", "Relu").in(f.random(dims), null, y).tol(0).check();
        }
    }

    @Test
    void dropoutMatchesFloat64() {
        // the same masks; values within float32 rounding of the float64 products
        for (int size : new int[] {1, 37, (1 << 14) + 5}) {
            node("DropoutTrain").attr("ratio", 0.3f).in(f.random(size), f.longs(new int[0], 42)).outputs(2).tol(1e-7)
                    .check();
        }
    }

    @Test
    void dropoutIsTheScalarHashBitForBit() {
        // the vector path (hash on long lanes, product in double lanes) against the scalar definition, with tails,
        // several ratios (0.25 and 0.5 are exact thresholds; 0 keeps everything) and seeds, one a negative one
        for (float ratio : new float[] {0f, 0.25f, 0.3f, 0.5f, 0.9f}) {
            for (long seed : new long[] {42, -7, Long.MAX_VALUE}) {
                for (int size : new int[] {1, 37, (1 << 14) + 5}) {
                    Tensor x = f.random(size);
                    Tensor[] out = node("DropoutTrain").attr("ratio", ratio).outputs(2)
                            .inRun(new Tensor[] {x, f.longs(new int[0], seed)});
                    double keep = 1 / (1 - (double) ratio);
                    long kept = 0;
                    for (int i = 0; i < size; i++) {
                        boolean k = DropoutTrain.uniform(seed, i) >= (double) ratio;
                        kept += k ? 1 : 0;
                        float want = k ? (float) (Elements.getDouble(x, i) * keep) : 0f;
                        assertThat((float) Elements.getDouble(out[0], i)).as("y[%d] ratio %s seed %d", i, ratio, seed)
                                .isEqualTo(want);
                        assertThat((float) Elements.getDouble(out[1], i)).as("mask[%d]", i)
                                .isEqualTo(k ? (float) keep : 0f);
                    }
                    if (size > 1000) {
                        assertThat((double) kept / size).isCloseTo(1 - ratio, org.assertj.core.data.Offset.offset(0.02));
                    }
                }
            }
        }
    }

    @Test
    void sgdStepMatchesFloat64() {
        int[][] shapes = {{1}, {37}, {70001}, {5, 3}};
        for (float momentum : new float[] {0f, 0.9f}) {
            for (long nesterov : new long[] {0, 1}) {
                if (momentum == 0f && nesterov == 1) {
                    continue;
                }
                for (float maxNorm : new float[] {0f, 1f}) {
                    int k = shapes.length;
                    Tensor[] in32 = new Tensor[1 + 3 * k];
                    in32[0] = f.of(DType.FLOAT32, new int[0], 0.05);
                    for (int i = 0; i < k; i++) {
                        in32[1 + i] = f.random(shapes[i]);
                        in32[1 + k + i] = f.uniform(-0.1f, 0.1f, shapes[i]);
                        in32[1 + 2 * k + i] = f.random(shapes[i]);
                    }
                    Tensor[] in64 = new Tensor[in32.length];
                    for (int i = 0; i < in32.length; i++) {
                        in64[i] = f.widen(in32[i]);
                    }
                    var n = node("SgdStep").attr("momentum", momentum).attr("nesterov", nesterov)
                            .attr("weight_decay", 5e-4f).attr("max_grad_norm", maxNorm).ints("decay", 1, 0, 1, 1)
                            .in(in32);
                    Tensor[] a = n.run(in32);
                    Tensor[] b = n.run(in64);
                    String what = "SgdStep momentum " + momentum + " nesterov " + nesterov + " clip " + maxNorm;
                    Float64Parity.assertClose(what + " norm", Elements.toDoubles(a[0]), Elements.toDoubles(b[0]),
                            1e-5);
                    for (int i = 1; i < in32.length; i++) {
                        Float64Parity.assertClose(what + " input " + i, Elements.toDoubles(in32[i]),
                                Elements.toDoubles(in64[i]), 1e-5);
                    }
                    assertThat(a[0].dtype()).isEqualTo(DType.FLOAT32);
                }
            }
        }
    }
}
