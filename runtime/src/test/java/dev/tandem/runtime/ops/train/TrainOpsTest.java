package dev.tandem.runtime.ops.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.ops.OpRegistry;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.plan.GreedyBySizePlanner;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The training ops' state updates and refusals (their gradients are checked in GradientCheckTest). */
class TrainOpsTest {
    private static ThreadPool pool;
    private static Sgemm gemm;

    @BeforeAll
    static void open() {
        pool = new ThreadPool(2);
        gemm = new Sgemm(pool);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    /** A graph of one dev.tandem node over graph inputs (or constants where given), all outputs graph outputs. */
    private static Tensor[] run(String type, int outputs, Tensor[] inputs, Tensor[] constants, Attribute... attrs) {
        Graph g = new Graph();
        g.opsets().put("", 17);
        List<Value> in = new ArrayList<>();
        List<Tensor> bound = new ArrayList<>();
        for (int i = 0; i < inputs.length; i++) {
            Value v = g.value("x" + i);
            if (constants != null && constants[i] != null) {
                v.setConstant(constants[i]);
            } else {
                g.inputs().add(v);
                bound.add(inputs[i]);
            }
            in.add(v);
        }
        List<Value> out = new ArrayList<>();
        for (int i = 0; i < outputs; i++) {
            out.add(g.value("y" + i));
        }
        Map<String, Attribute> a = new LinkedHashMap<>();
        for (Attribute x : attrs) {
            a.put(x.name(), x);
        }
        g.add(new Node("n", type, Node.TANDEM_DOMAIN, in, out, a));
        g.outputs().addAll(out);
        DType[] types = bound.stream().map(Tensor::dtype).toArray(DType[]::new);
        Shape[] shapes = bound.stream().map(Tensor::shape).toArray(Shape[]::new);
        try (ExecutionPlan p = ExecutionPlan.build(g, OpRegistry.standard(), gemm, new GreedyBySizePlanner(), types,
                shapes, null)) {
            return p.run(bound.toArray(new Tensor[0]));
        }
    }

    @Test
    void batchNormTrainUpdatesRunningStatisticsInPlaceLikePyTorch() {
        float[] x = {1, 2, 3, 4, 10, 20, 30, 40};        // N=2, C=2, inner 2: channel 0 = 1,2,10,20; channel 1 = 3,4,30,40
        Tensor xt = Tensor.ofFloats(Shape.of(2, 2, 2), x);
        Tensor rm = Tensor.ofFloats(Shape.of(2), 1, -1), rv = Tensor.ofFloats(Shape.of(2), 2, 3);
        Tensor[] y = run("BatchNormTrain", 3, new Tensor[] {xt, Tensor.ofFloats(Shape.of(2), 1, 2),
                Tensor.ofFloats(Shape.of(2), 0, 1), rm, rv}, null, Attribute.of("momentum", 0.1f));
        double m0 = (1 + 2 + 10 + 20) / 4.0, m1 = (3 + 4 + 30 + 40) / 4.0;
        double v0 = var(new double[] {1, 2, 10, 20}, m0), v1 = var(new double[] {3, 4, 30, 40}, m1);
        assertThat((double) rm.toFloatArray()[0]).isCloseTo(0.9 * 1 + 0.1 * m0, within(1e-4));
        assertThat((double) rm.toFloatArray()[1]).isCloseTo(0.9 * -1 + 0.1 * m1, within(1e-4));
        assertThat((double) rv.toFloatArray()[0]).isCloseTo(0.9 * 2 + 0.1 * v0 * 4 / 3, within(1e-3));
        assertThat((double) rv.toFloatArray()[1]).isCloseTo(0.9 * 3 + 0.1 * v1 * 4 / 3, within(1e-3));
        assertThat((double) y[1].toFloatArray()[0]).isCloseTo(m0, within(1e-4));
        assertThat((double) y[2].toFloatArray()[1]).isCloseTo(1 / Math.sqrt(v1 + 1e-5), within(1e-5));
        // Y: channel 1 has scale 2, shift 1
        assertThat((double) y[0].toFloatArray()[2]).isCloseTo(2 * (3 - m1) / Math.sqrt(v1 + 1e-5) + 1, within(1e-4));
    }

    private static double var(double[] v, double mean) {
        double s = 0;
        for (double x : v) {
            s += (x - mean) * (x - mean);
        }
        return s / v.length;
    }

    @Test
    void dropoutMasksAreSeededAndKeepTheRightFraction() {
        float[] ones = new float[20000];
        java.util.Arrays.fill(ones, 1f);
        Tensor x = Tensor.ofFloats(Shape.of(20000), ones);
        Tensor[] a = run("DropoutTrain", 2, new Tensor[] {x, Tensor.ofLongs(Shape.scalar(), 5)}, null,
                Attribute.of("ratio", 0.25f));
        Tensor[] b = run("DropoutTrain", 2, new Tensor[] {x, Tensor.ofLongs(Shape.scalar(), 5)}, null,
                Attribute.of("ratio", 0.25f));
        Tensor[] c = run("DropoutTrain", 2, new Tensor[] {x, Tensor.ofLongs(Shape.scalar(), 6)}, null,
                Attribute.of("ratio", 0.25f));
        float[] ya = a[0].toFloatArray();
        int kept = 0;
        for (float v : ya) {
            assertThat(v).isIn(0f, 1f / 0.75f);
            kept += v != 0 ? 1 : 0;
        }
        assertThat(kept / 20000.0).isCloseTo(0.75, within(0.015));
        assertThat(b[0].toFloatArray()).containsExactly(ya);
        assertThat(c[0].toFloatArray()).isNotEqualTo(ya);
        assertThat(a[1].toFloatArray()).containsExactly(ya);
    }

    @Test
    void sgdStepMatchesPyTorchsNesterovFormula() {
        Tensor p = Tensor.ofFloats(Shape.of(2), 1, -2), g = Tensor.ofFloats(Shape.of(2), 0.5f, 0.25f);
        Tensor m = Tensor.ofFloats(Shape.of(2), 0.1f, 0f);
        Tensor[] out = run("SgdStep", 1, new Tensor[] {Tensor.ofFloats(Shape.scalar(), 0.1f), p, g, m}, null,
                Attribute.of("momentum", 0.9f), Attribute.of("nesterov", 1L), Attribute.of("weight_decay", 0.01f));
        // d = g + wd·p; buf = 0.9·buf + d; step = d + 0.9·buf; p -= lr·step
        double d0 = 0.5 + 0.01 * 1, b0 = 0.9 * 0.1 + d0, p0 = 1 - 0.1 * (d0 + 0.9 * b0);
        double d1 = 0.25 + 0.01 * -2, b1 = d1, p1 = -2 - 0.1 * (d1 + 0.9 * b1);
        assertThat((double) p.toFloatArray()[0]).isCloseTo(p0, within(1e-6));
        assertThat((double) p.toFloatArray()[1]).isCloseTo(p1, within(1e-6));
        assertThat((double) m.toFloatArray()[0]).isCloseTo(b0, within(1e-6));
        assertThat((double) out[0].toFloatArray()[0]).isCloseTo(Math.hypot(0.5, 0.25), within(1e-6));
    }

    @Test
    void sgdStepTakesItsMomentumFromAnInputWhenGiven() {
        Tensor p = Tensor.ofFloats(Shape.of(1), 1), g = Tensor.ofFloats(Shape.of(1), 0.5f);
        Tensor m = Tensor.ofFloats(Shape.of(1), 0.2f);
        run("SgdStep", 1, new Tensor[] {Tensor.ofFloats(Shape.scalar(), 0.1f), Tensor.ofFloats(Shape.scalar(), 0.5f),
                p, g, m}, null, Attribute.of("momentum", 0.9f));
        double b = 0.5 * 0.2 + 0.5;    // the input's 0.5, not the attribute's 0.9
        assertThat((double) m.toFloatArray()[0]).isCloseTo(b, within(1e-6));
        assertThat((double) p.toFloatArray()[0]).isCloseTo(1 - 0.1 * b, within(1e-6));
    }

    @Test
    void adamWStepMatchesTheFormulaAndClips() {
        Tensor p = Tensor.ofFloats(Shape.of(1), 2), g = Tensor.ofFloats(Shape.of(1), 3);
        Tensor m = Tensor.ofFloats(Shape.of(1), 0), v = Tensor.ofFloats(Shape.of(1), 0);
        run("AdamStep", 1, new Tensor[] {Tensor.ofFloats(Shape.scalar(), 0.01f), Tensor.ofLongs(Shape.scalar(), 1), p,
                g, m, v}, null, Attribute.of("weight_decay", 0.1f), Attribute.of("decoupled", 1L),
                Attribute.of("max_grad_norm", 1.5f));
        double gc = 3 * 1.5 / (3 + 1e-6);
        double pd = 2 * (1 - 0.01 * 0.1);
        double mm = 0.1 * gc, vv = 0.001 * gc * gc;
        double expect = pd - 0.01 * (mm / 0.1) / (Math.sqrt(vv / 0.001) + 1e-8);
        assertThat((double) p.toFloatArray()[0]).isCloseTo(expect, within(1e-6));
        assertThat((double) m.toFloatArray()[0]).isCloseTo(mm, within(1e-6));
    }

    @Test
    void nonFiniteGradientsFailTheStepAndLeaveParametersAlone() {
        Tensor p = Tensor.ofFloats(Shape.of(2), 1, 2), g = Tensor.ofFloats(Shape.of(2), Float.NaN, 1);
        Tensor m = Tensor.ofFloats(Shape.of(2), 0, 0);
        assertThatThrownBy(() -> run("SgdStep", 1, new Tensor[] {Tensor.ofFloats(Shape.scalar(), 0.1f), p, g, m},
                null, Attribute.of("momentum", 0.9f))).isInstanceOf(ModelException.class).hasMessageContaining(
                "not finite");
        assertThat(p.toFloatArray()).containsExactly(1, 2);
    }

    @Test
    void stateWrittenInPlaceMustBeAGraphInput() {
        Tensor p = Tensor.ofFloats(Shape.of(2), 1, 2), g = Tensor.ofFloats(Shape.of(2), 1, 1);
        Tensor m = Tensor.ofFloats(Shape.of(2), 0, 0);
        assertThatThrownBy(() -> run("SgdStep", 1, new Tensor[] {Tensor.ofFloats(Shape.scalar(), 0.1f), p, g, m},
                new Tensor[] {null, Tensor.ofFloats(Shape.of(2), 1, 2), null, null}))
                .isInstanceOf(ModelException.class).hasMessageContaining("in place").hasMessageContaining("constant");
    }

    @Test
    void labelsOutsideTheClassesFailWithTheirIndex() {
        assertThatThrownBy(() -> run("SoftmaxCrossEntropy", 2, new Tensor[] {Tensor.ofFloats(Shape.of(2, 3), 1, 2, 3,
                4, 5, 6), Tensor.ofLongs(Shape.of(2), 1, 7)}, null)).isInstanceOf(ModelException.class)
                .hasMessageContaining("Label 7 of sample 1");
    }
}
