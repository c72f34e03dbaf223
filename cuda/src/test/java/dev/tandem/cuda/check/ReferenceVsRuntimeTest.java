package dev.tandem.cuda.check;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link KernelReference} (what the CUDA kernels are checked against, on the emulator here and on a GPU by
 * GpuCheck) against the CPU backend's own training ops, run through the runtime's planner and executor: the CUDA
 * kernels are held to the CPU backend's semantics, not to a second opinion.
 */
class ReferenceVsRuntimeTest {
    private static ThreadPool pool;
    private static Sgemm gemm;

    @BeforeAll
    static void open() {
        pool = new ThreadPool(1);
        gemm = new Sgemm(pool);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    /** A graph of one node over graph inputs, all outputs returned. */
    private static Tensor[] run(String domain, String type, int outputs, Tensor[] inputs, Attribute... attrs) {
        Graph g = new Graph();
        g.opsets().put("", 17);
        List<Value> in = new ArrayList<>();
        for (int i = 0; i < inputs.length; i++) {
            Value v = g.value("x" + i);
            g.inputs().add(v);
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
        g.add(new Node("n", type, domain, in, out, a));
        g.outputs().addAll(out);
        DType[] types = java.util.Arrays.stream(inputs).map(Tensor::dtype).toArray(DType[]::new);
        Shape[] shapes = java.util.Arrays.stream(inputs).map(Tensor::shape).toArray(Shape[]::new);
        try (ExecutionPlan p = ExecutionPlan.build(g, OpRegistry.standard(), gemm, new GreedyBySizePlanner(), types,
                shapes, null)) {
            return p.run(inputs);
        }
    }

    private static void close(Tensor... ts) {
        for (Tensor t : ts) {
            t.close();
        }
    }

    private static void near(String what, float[] actual, double[] expected, double tol) {
        Outcome o = Outcome.compare(what, actual, expected, tol, tol);
        assertThat(o.passed()).as(o.detail()).isTrue();
    }

    @Test
    void batchNormTrainAndGrad() {
        SplittableRandom r = new SplittableRandom(1);
        int n = 3, c = 4, h = 5, w = 6, plane = h * w;
        float[] x = KernelCases.random(r, n * c * plane, -2, 3), gamma = KernelCases.random(r, c, 0.5, 1.5),
                beta = KernelCases.random(r, c, -1, 1), rm = KernelCases.random(r, c, -0.1, 0.1),
                rv = KernelCases.random(r, c, 0.9, 1.1), dy = KernelCases.random(r, n * c * plane, -1, 1);
        double[][] ref = KernelReference.batchNormTrain(x, gamma, beta, rm, rv, n, c, plane, 1e-5f, 0.1f);
        Tensor tx = Tensor.ofFloats(Shape.of(n, c, h, w), x), tg = Tensor.ofFloats(Shape.of(c), gamma),
                tb = Tensor.ofFloats(Shape.of(c), beta), trm = Tensor.ofFloats(Shape.of(c), rm),
                trv = Tensor.ofFloats(Shape.of(c), rv);
        Tensor[] y = run(Node.TANDEM_DOMAIN, "BatchNormTrain", 3, new Tensor[] {tx, tg, tb, trm, trv},
                Attribute.of("epsilon", 1e-5f), Attribute.of("momentum", 0.1f));
        near("y", y[0].toFloatArray(), ref[0], 1e-5);
        near("saved_mean", y[1].toFloatArray(), ref[1], 1e-5);
        near("saved_invstd", y[2].toFloatArray(), ref[2], 1e-5);
        near("running_mean (in place)", trm.toFloatArray(), ref[3], 1e-5);
        near("running_var (in place)", trv.toFloatArray(), ref[4], 1e-5);

        Tensor tdy = Tensor.ofFloats(Shape.of(n, c, h, w), dy);
        Tensor[] g = run(Node.TANDEM_DOMAIN, "BatchNormGrad", 3, new Tensor[] {tdy, tx, tg, y[1], y[2]});
        double[][] gref = KernelReference.batchNormGrad(dy, x, gamma, y[1].toFloatArray(), y[2].toFloatArray(), n, c,
                plane);
        near("dx", g[0].toFloatArray(), gref[0], 1e-4);
        near("dgamma", g[1].toFloatArray(), gref[1], 1e-4);
        near("dbeta", g[2].toFloatArray(), gref[2], 1e-4);
        close(tx, tg, tb, trm, trv, tdy);
        close(y);
        close(g);
    }

    @Test
    void softmaxCrossEntropyAndGrad() {
        SplittableRandom r = new SplittableRandom(2);
        int rows = 7, classes = 10;
        float[] z = KernelCases.random(r, rows * classes, -3, 3);
        long[] labels = new long[rows];
        for (int i = 0; i < rows; i++) {
            labels[i] = r.nextInt(classes);
        }
        Tensor tz = Tensor.ofFloats(Shape.of(rows, classes), z), tl = Tensor.ofLongs(Shape.of(rows), labels);
        Tensor[] f = run(Node.TANDEM_DOMAIN, "SoftmaxCrossEntropy", 2, new Tensor[] {tz, tl},
                Attribute.of("label_smoothing", 0.1f));
        double[][] ref = KernelReference.softmaxCrossEntropy(z, labels, rows, classes, 0.1f, 1.0 / rows);
        double mean = 0;
        for (double v : ref[0]) {
            mean += v / rows;
        }
        near("loss (mean of rows)", f[0].toFloatArray(), new double[] {mean}, 1e-5);
        near("log_prob", f[1].toFloatArray(), ref[1], 1e-5);
        Tensor one = Tensor.ofFloats(Shape.scalar(), 1f);
        Tensor[] g = run(Node.TANDEM_DOMAIN, "SoftmaxCrossEntropyGrad", 1, new Tensor[] {one, f[1], tl},
                Attribute.of("label_smoothing", 0.1f));
        near("dlogits", g[0].toFloatArray(), ref[2], 1e-6);
        close(tz, tl, one);
        close(f);
        close(g);
    }

    @Test
    void maxPoolForwardAndGradient() {
        SplittableRandom r = new SplittableRandom(3);
        KernelReference.Pool p = new KernelReference.Pool(2 * 3, 7, 9, 2, 2, 2, 2, 0, 0);
        float[] x = new float[p.planes() * p.h() * p.w()];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextInt(5) - 2;
        }
        float[] dy = KernelCases.random(r, p.planes() * p.oh() * p.ow(), -1, 1);
        Tensor tx = Tensor.ofFloats(Shape.of(2, 3, 7, 9), x), tdy = Tensor.ofFloats(Shape.of(2, 3, p.oh(), p.ow()), dy);
        Attribute k = Attribute.of("kernel_shape", new long[] {2, 2}), s = Attribute.of("strides", new long[] {2, 2});
        Tensor[] y = run("", "MaxPool", 1, new Tensor[] {tx}, k, s);
        Object[] ref = KernelReference.maxPool(x, p);
        near("max pool", y[0].toFloatArray(), (double[]) ref[0], 0);
        Tensor[] g = run(Node.TANDEM_DOMAIN, "PoolGrad", 1, new Tensor[] {tdy, tx}, k, s, Attribute.of("mode", "max"));
        near("max pool grad (first maximum)", g[0].toFloatArray(), KernelReference.maxPoolGrad(dy, (long[]) ref[1], p),
                1e-7);
        close(tx, tdy);
        close(y);
        close(g);
    }

    @Test
    void sgdStepWithClippingAndAdamSteps() {
        SplittableRandom r = new SplittableRandom(4);
        int n = 101;
        float[] p = KernelCases.random(r, n, -1, 1), g = KernelCases.random(r, n, -1, 1),
                m = KernelCases.random(r, n, -0.1, 0.1), v = KernelCases.random(r, n, 0, 0.01);
        double sq = 0;
        for (float x : g) {
            sq += (double) x * x;
        }
        float maxNorm = (float) (0.5 * Math.sqrt(sq));
        double clip = maxNorm / (Math.sqrt(sq) + 1e-6);
        Tensor tp = Tensor.ofFloats(Shape.of(n), p), tg = Tensor.ofFloats(Shape.of(n), g),
                tm = Tensor.ofFloats(Shape.of(n), m), lr = Tensor.ofFloats(Shape.scalar(), 0.05f);
        close(run(Node.TANDEM_DOMAIN, "SgdStep", 1, new Tensor[] {lr, tp, tg, tm}, Attribute.of("momentum", 0.9f),
                Attribute.of("nesterov", 1), Attribute.of("weight_decay", 5e-4f), Attribute.of("max_grad_norm",
                        maxNorm)));
        double[][] ref = KernelReference.sgd(p, g, m, 0.05f, 0.9f, clip, 5e-4f, true);
        near("sgd p", tp.toFloatArray(), ref[0], 1e-6);
        near("sgd m", tm.toFloatArray(), ref[1], 1e-6);
        close(tp, tm, lr);

        for (int decoupled = 0; decoupled <= 1; decoupled++) {
            Tensor ap = Tensor.ofFloats(Shape.of(n), p), am = Tensor.ofFloats(Shape.of(n), m),
                    av = Tensor.ofFloats(Shape.of(n), v), alr = Tensor.ofFloats(Shape.scalar(), 1e-3f),
                    step = Tensor.ofLongs(Shape.scalar(), 3);
            close(run(Node.TANDEM_DOMAIN, "AdamStep", 1, new Tensor[] {alr, step, ap, tg, am, av},
                    Attribute.of("weight_decay", 0.01f), Attribute.of("decoupled", decoupled)));
            double[][] aref = KernelReference.adam(p, g, m, v, 1e-3f, 3, 0.9f, 0.999f, 1e-8f, 0.01f, decoupled == 1, 1);
            near("adam p", ap.toFloatArray(), aref[0], 1e-6);
            near("adam m", am.toFloatArray(), aref[1], 1e-7);
            near("adam v", av.toFloatArray(), aref[2], 1e-8);
            close(ap, am, av, alr, step);
        }
        close(tg);
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        assertThat(KernelReference.toBf16(1f)).isEqualTo((short) 0x3f80);
        assertThat(KernelReference.toBf16(Float.intBitsToFloat(0x3f808000))).isEqualTo((short) 0x3f80); // tie: even
        assertThat(KernelReference.toBf16(Float.intBitsToFloat(0x3f818000))).isEqualTo((short) 0x3f82); // tie: even
        assertThat(KernelReference.toBf16(Float.intBitsToFloat(0x3f808001))).isEqualTo((short) 0x3f81);
        assertThat(KernelReference.toBf16(Float.NaN) & 0xffff).isEqualTo(0x7fc0);
        assertThat(KernelReference.toBf16(Float.MAX_VALUE) & 0xffff).isEqualTo(0x7f80); // rounds up to infinity
        assertThat(KernelReference.toBf16(-2.5f) & 0xffff).isEqualTo(0xc020);
        assertThat(KernelReference.fromBf16((short) 0xc020)).isEqualTo(-2.5f);
    }

    @Test
    void referenceConvolutionAgreesWithTheCpuBackend() {
        SplittableRandom r = new SplittableRandom(5);
        KernelReference.Conv g = new KernelReference.Conv(2, 3, 7, 6, 4, 3, 3, 1, 2);
        float[] x = KernelCases.random(r, g.n() * g.c() * g.h() * g.w(), -1, 1),
                w = KernelCases.random(r, g.k() * g.c() * 9, -1, 1);
        Tensor tx = Tensor.ofFloats(Shape.of(g.n(), g.c(), g.h(), g.w()), x),
                tw = Tensor.ofFloats(Shape.of(g.k(), g.c(), 3, 3), w);
        Tensor[] y = run("", "Conv", 1, new Tensor[] {tx, tw}, Attribute.of("pads", new long[] {1, 1, 1, 1}),
                Attribute.of("strides", new long[] {2, 2}));
        assertThat(y[0].shape()).isEqualTo(Shape.of(g.n(), g.k(), g.oh(), g.ow()));
        near("conv", y[0].toFloatArray(), KernelReference.conv(x, w, g, false), 1e-5);
        close(tx, tw);
        close(y);
    }

    @Test
    void dropoutMasksAreTheCpuOnes() {
        SplittableRandom r = new SplittableRandom(5);
        float[] x = KernelCases.random(r, 2000, -1, 1);
        long seed = 987654321987L;
        Tensor tx = Tensor.ofFloats(Shape.of(2000), x), ts = Tensor.ofLongs(Shape.scalar(), seed);
        Tensor[] y = run(Node.TANDEM_DOMAIN, "DropoutTrain", 2, new Tensor[] {tx, ts}, Attribute.of("ratio", 0.3f));
        double[][] ref = KernelReference.dropout(x, seed, 0.3f);
        near("y", y[0].toFloatArray(), ref[0], 0);
        near("mask", y[1].toFloatArray(), ref[1], 0);
        close(tx, ts);
        close(y);
    }

    @Test
    void crossEntropyGradFromLogProb() {
        SplittableRandom r = new SplittableRandom(6);
        int rows = 9, classes = 6;
        float[] z = KernelCases.random(r, rows * classes, -3, 3);
        long[] labels = new long[rows];
        for (int i = 0; i < rows; i++) {
            labels[i] = r.nextInt(classes);
        }
        Tensor tz = Tensor.ofFloats(Shape.of(rows, classes), z), tl = Tensor.ofLongs(Shape.of(rows), labels);
        Tensor[] f = run(Node.TANDEM_DOMAIN, "SoftmaxCrossEntropy", 2, new Tensor[] {tz, tl},
                Attribute.of("label_smoothing", 0.2f), Attribute.of("reduction", "sum"));
        Tensor d = Tensor.ofFloats(Shape.scalar(), 1.5f);
        Tensor[] g = run(Node.TANDEM_DOMAIN, "SoftmaxCrossEntropyGrad", 1, new Tensor[] {d, f[1], tl},
                Attribute.of("label_smoothing", 0.2f), Attribute.of("reduction", "sum"));
        near("dlogits", g[0].toFloatArray(), KernelReference.crossEntropyGrad(1.5, f[1].toFloatArray(), labels, rows,
                classes, 0.2f, 1), 1e-6);
        close(tz, tl, d);
        close(f);
        close(g);
    }

    @Test
    void inferenceBatchNorm() {
        SplittableRandom r = new SplittableRandom(8);
        int n = 2, c = 3, plane = 10;
        float[] x = KernelCases.random(r, n * c * plane, -2, 2), g = KernelCases.random(r, c, 0.5, 1.5),
                b = KernelCases.random(r, c, -1, 1), m = KernelCases.random(r, c, -1, 1),
                v = KernelCases.random(r, c, 0.5, 2);
        Tensor[] in = {Tensor.ofFloats(Shape.of(n, c, 2, 5), x), Tensor.ofFloats(Shape.of(c), g),
                Tensor.ofFloats(Shape.of(c), b), Tensor.ofFloats(Shape.of(c), m), Tensor.ofFloats(Shape.of(c), v)};
        Tensor[] y = run("", "BatchNormalization", 1, in, Attribute.of("epsilon", 1e-5f));
        near("y", y[0].toFloatArray(), KernelReference.batchNormInfer(x, g, b, m, v, c, plane, 1e-5f), 1e-5);
        close(in);
        close(y);
    }
}
