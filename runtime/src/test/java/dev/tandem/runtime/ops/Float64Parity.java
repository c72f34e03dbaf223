package dev.tandem.runtime.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Float64 against float32 for one op of {@link OpRegistry#standard()}: a node runs on float32 inputs, then on the
 * same values widened to float64 (integer inputs unchanged); every float32 output must come back float64, with the
 * same shape, within float32 rounding of the float64 value. Tensors live in one arena, freed by {@link #close()}.
 */
public final class Float64Parity implements AutoCloseable {
    /** Default tolerance: {@code |f32 - f64| <= TOL · (1 + |f64|)}. */
    public static final double TOL = 1e-4;

    private final ThreadPool pool = new ThreadPool(2);
    private final Sgemm gemm = new Sgemm(pool);
    private final OpRegistry ops = OpRegistry.standard();
    private final Arena arena = Arena.ofShared();
    private final Random rnd;

    public Float64Parity(long seed) {
        rnd = new Random(seed);
    }

    /** Float32 values uniform in {@code [lo, hi)}. */
    public Tensor uniform(float lo, float hi, int... dims) {
        Tensor t = Tensor.allocate(arena, DType.FLOAT32, Shape.of(dims));
        for (long i = 0; i < t.size(); i++) {
            Elements.setDouble(t, i, lo + (hi - lo) * rnd.nextFloat());
        }
        return t;
    }

    /** Float32 values uniform in {@code [-1, 1)}. */
    public Tensor random(int... dims) {
        return uniform(-1f, 1f, dims);
    }

    /** A tensor of {@code dtype} holding {@code values} in row-major order. */
    public Tensor of(DType dtype, int[] dims, double... values) {
        Tensor t = Tensor.allocate(arena, dtype, Shape.of(dims));
        for (int i = 0; i < values.length; i++) {
            Elements.setDouble(t, i, values[i]);
        }
        return t;
    }

    /** An int64 tensor. */
    public Tensor longs(int[] dims, long... values) {
        Tensor t = Tensor.allocate(arena, DType.INT64, Shape.of(dims));
        for (int i = 0; i < values.length; i++) {
            Elements.setLong(t, i, values[i]);
        }
        return t;
    }

    /** Random class indices in {@code [0, classes)}. */
    public Tensor labels(int classes, int... dims) {
        Tensor t = Tensor.allocate(arena, DType.INT64, Shape.of(dims));
        for (long i = 0; i < t.size(); i++) {
            Elements.setLong(t, i, rnd.nextInt(classes));
        }
        return t;
    }

    /** A new case for the default-domain op {@code type}. */
    public Case node(String type) {
        return new Case("", type);
    }

    /** A new case for an op of another domain. */
    public Case node(String domain, String type) {
        return new Case(domain, type);
    }

    /** One node to run in both types. */
    public final class Case {
        private final String domain;
        private final String type;
        private int opset = 17;
        private final Map<String, Attribute> attrs = new LinkedHashMap<>();
        private Tensor[] inputs = new Tensor[0];
        private boolean[] constant = new boolean[0];
        private int outputs = 1;
        private double tol = TOL;

        private Case(String domain, String type) {
            this.domain = domain;
            this.type = type;
        }

        public Case opset(int v) {
            opset = v;
            return this;
        }

        public Case attr(Attribute a) {
            attrs.put(a.name(), a);
            return this;
        }

        public Case attr(String name, long v) {
            return attr(Attribute.of(name, v));
        }

        public Case attr(String name, float v) {
            return attr(Attribute.of(name, v));
        }

        public Case attr(String name, String v) {
            return attr(Attribute.of(name, v));
        }

        /** An ints attribute. */
        public Case ints(String name, long... v) {
            return attr(Attribute.of(name, v));
        }

        /** The inputs (null where absent). */
        public Case in(Tensor... v) {
            inputs = v;
            constant = new boolean[v.length];
            return this;
        }

        /** Marks inputs as known at plan time. */
        public Case constant(int... indices) {
            for (int i : indices) {
                constant[i] = true;
            }
            return this;
        }

        public Case outputs(int n) {
            outputs = n;
            return this;
        }

        public Case tol(double v) {
            tol = v;
            return this;
        }

        /** Runs in float32 and float64 and compares; returns the float64 outputs. */
        public Tensor[] check() {
            Tensor[] wide = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                wide[i] = inputs[i] == null || inputs[i].dtype() != DType.FLOAT32 ? inputs[i] : widen(inputs[i]);
            }
            Tensor[] f32 = run(inputs);
            Tensor[] f64 = run(wide);
            for (int o = 0; o < outputs; o++) {
                String what = type + " output " + o + " " + attrs.values() + " on " + shapes();
                assertThat(f64[o].shape()).as(what).isEqualTo(f32[o].shape());
                if (f32[o].dtype() != DType.FLOAT32) {
                    assertThat(f64[o].dtype()).as(what).isEqualTo(f32[o].dtype());
                    continue;
                }
                assertThat(f64[o].dtype()).as(what).isEqualTo(DType.FLOAT64);
                assertClose(what, Elements.toDoubles(f32[o]), Elements.toDoubles(f64[o]), tol);
            }
            return f64;
        }

        /** Sets {@code in} as the inputs ({@link #in}) and runs the node on them ({@link #run}). */
        public Tensor[] inRun(Tensor[] in) {
            return in(in).run(in);
        }

        /** Runs the node on {@code in} (any types) and returns its outputs. */
        public Tensor[] run(Tensor[] in) {
            List<Value> iv = new ArrayList<>();
            DType[] dt = new DType[in.length];
            Shape[] sh = new Shape[in.length];
            Tensor[] cs = new Tensor[in.length];
            for (int i = 0; i < in.length; i++) {
                iv.add(in[i] == null ? null : new Value("in" + i));
                if (in[i] != null) {
                    dt[i] = in[i].dtype();
                    sh[i] = in[i].shape();
                    cs[i] = constant[i] ? in[i] : null;
                }
            }
            List<Value> ov = new ArrayList<>();
            for (int o = 0; o < outputs; o++) {
                ov.add(new Value("out" + o));
            }
            Op op = ops.find(domain, type);
            assertThat(op).as("op %s", type).isNotNull();
            Node node = new Node("n", type, domain, iv, ov, attrs);
            Prepared p = op.prepare(new OpContext(node, opset, dt, sh, cs, gemm));
            Tensor[] out = new Tensor[outputs];
            if (p.isAlias()) {
                Tensor src = in[p.aliasOf()];
                Prepared.Output po = p.outputs().get(0);
                out[0] = Tensor.wrap(src.segment(), src.offset(), po.dtype(), po.shape());
                return out;
            }
            for (int o = 0; o < outputs; o++) {
                Prepared.Output po = p.outputs().get(o);
                out[o] = Tensor.allocate(arena, po.dtype(), po.shape());
            }
            p.kernel().run(in, out);
            return out;
        }

        private String shapes() {
            return Arrays.stream(inputs).map(t -> t == null ? "-" : t.shape().toString()).toList().toString();
        }
    }

    /** The float32 tensor's values as a new float64 tensor. */
    public Tensor widen(Tensor t) {
        Tensor w = Tensor.allocate(arena, DType.FLOAT64, t.shape());
        Elements.setDoubles(w, Elements.toDoubles(t));
        return w;
    }

    /** {@code |actual - expected| <= tol · (1 + |expected|)} everywhere; NaN only against NaN. */
    public static void assertClose(String what, double[] actual, double[] expected, double tol) {
        assertThat(actual).as(what).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            double a = actual[i], e = expected[i];
            boolean ok = Double.isNaN(e) ? Double.isNaN(a) : a == e || Math.abs(a - e) <= tol * (1 + Math.abs(e));
            if (!ok) {
                fail(what + ": element " + i + " is " + a + ", expected " + e + " (tolerance " + tol + ")");
            }
        }
    }

    @Override
    public void close() {
        pool.close();
        arena.close();
    }
}
