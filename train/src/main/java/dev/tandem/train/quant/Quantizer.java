package dev.tandem.train.quant;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.classify.ImageSpec;
import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.graph.passes.BatchNormFolding;
import dev.tandem.runtime.graph.passes.DeadNodeElimination;
import dev.tandem.runtime.graph.passes.IdentityElimination;
import dev.tandem.runtime.graph.passes.Optimizer;
import dev.tandem.runtime.graph.passes.PassContext;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.onnx.OnnxReader;
import dev.tandem.runtime.onnx.OnnxWriter;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.OpRegistry;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import dev.tandem.train.data.Dataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Post-training static quantization: reads a float32 ONNX classifier, runs calibration images through it (each
 * preprocessed as the model's metadata says, like {@link dev.tandem.train.ModelEvaluation}) to find the range of
 * every activation that feeds or leaves a quantized op, and writes a standard QDQ ONNX model that ONNX Runtime and
 * Tandem's runtime (which fuses it into integer ops) both run.
 *
 * <p>What it writes: BatchNormalization folded into the conv before it first; then every Conv, Gemm (alpha = beta
 * = 1, no transA) and MatMul whose weights are a float32 constant gets weights quantized to int8 per output channel,
 * symmetric ({@code scale = max|w| / 127}, zero point 0) behind a DequantizeLinear, its bias to int32 with scale
 * {@code x_scale · w_scale} behind a DequantizeLinear, and a QuantizeLinear → DequantizeLinear pair (uint8,
 * asymmetric, per tensor) on its input and on its output. A Relu or a Clip with min ≥ 0 (ReLU6) that alone reads the
 * layer's output joins it: the output pair goes after the activation, with the activation's range, and nothing
 * between them ({@link QuantPlan}). A weight read by several layers is quantized once. Node names are unique. Graph
 * outputs stay float. Every other node stays float and is listed in {@link Report#leftFloat()} with the reason.
 * The metadata is carried over, with {@code tandem.quant.method} and {@code tandem.quant.samples} added. The model
 * must import opset 13 or later (per-axis DequantizeLinear).
 */
public final class Quantizer {
    /** How an activation's range is chosen from the calibration data. */
    public enum Method {
        MINMAX, PERCENTILE, ENTROPY;

        public static Method parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("Unknown calibration method '" + s
                        + "'; use minmax, percentile or entropy");
            }
        }
    }

    /**
     * @param samples    calibration images taken (a fixed-seed random choice when the data set has more)
     * @param percentile for {@link Method#PERCENTILE}: the percentile of |x| kept, e.g. 99.99
     */
    public record Options(int samples, Method method, double percentile, int threads) {
        public static Options defaults() {
            return new Options(256, Method.MINMAX, 99.99, Math.min(4, Runtime.getRuntime().availableProcessors()));
        }

        public Options withSamples(int n) {
            return new Options(n, method, percentile, threads);
        }

        public Options withMethod(Method m) {
            return new Options(samples, m, percentile, threads);
        }

        public Options withThreads(int t) {
            return new Options(samples, method, percentile, t);
        }
    }

    /**
     * What was done.
     *
     * @param quantized  the layers now quantized, as {@code Op 'name'}
     * @param activated  the Relu and Clip nodes quantized with the layer before them
     * @param leftFloat  node ({@code Op 'name'}) → why it stays float (Constant nodes are not listed)
     * @param samples    calibration images used
     * @param inputBytes size of the float model file; {@code outputBytes} of the quantized one
     */
    public record Report(List<String> quantized, List<String> activated, Map<String, String> leftFloat,
                         int samples, Method method, long inputBytes, long outputBytes) {
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT, "Quantized %d ops, %d of them with the Relu or Clip after them (%s "
                    + "calibration on %d images); %d bytes → %d bytes (%.1f%%)%n", quantized.size(), activated.size(),
                    method.name().toLowerCase(Locale.ROOT), samples, inputBytes, outputBytes,
                    100.0 * outputBytes / Math.max(1, inputBytes)));
            if (!leftFloat.isEmpty()) {
                sb.append("Left in float32:\n");
                leftFloat.forEach((n, why) -> sb.append("  ").append(n).append(": ").append(why).append('\n'));
            }
            return sb.toString();
        }
    }

    private Quantizer() {
    }

    /**
     * Quantizes {@code model} with {@code calibration} images and writes the QDQ model to {@code out}.
     *
     * @throws IllegalArgumentException when the calibration set is empty or its images do not have the model's
     *                                  input shape, or the model's opset is below 13
     * @throws IOException              when the output cannot be written
     */
    public static Report quantize(Path model, Dataset calibration, Options options, Path out) throws IOException {
        if (calibration.size() == 0) {
            throw new IllegalArgumentException("The calibration set is empty; give it images (--calib)");
        }
        if (options.samples() < 1) {
            throw new IllegalArgumentException("The calibration sample count must be >= 1; got "
                    + options.samples());
        }
        try (ThreadPool pool = new ThreadPool(Math.max(1, options.threads()))) {
            PassContext pctx = new PassContext(OpRegistry.standard(), new Sgemm(pool));
            QuantPlan plan;
            Map<String, float[]> ranges;
            int used;
            try (Graph g = prepared(model, pctx)) {
                plan = QuantPlan.of(g);
                Calibrated c = calibrate(g, plan.activations(), calibration, options, pool);
                ranges = c.ranges();
                used = c.samples();
            }
            try (Graph g = prepared(model, pctx)) {
                rewrite(g, plan, ranges);
                g.metadata().put("tandem.quant.method", options.method().name().toLowerCase(Locale.ROOT));
                g.metadata().put("tandem.quant.samples", Integer.toString(used));
                new DeadNodeElimination().apply(g, pctx);
                g.sort();
                OnnxWriter.write(g, out);
            }
            return new Report(plan.quantized(), plan.activated(), plan.leftFloat(), used, options.method(),
                    Files.size(model), Files.size(out));
        }
    }

    /** The float graph with identities dropped and BatchNormalization folded (standard ONNX ops only). */
    private static Graph prepared(Path model, PassContext ctx) {
        Graph g = OnnxReader.read(model);
        try {
            int opset = g.opset("");
            if (opset < 13) {
                throw new IllegalArgumentException("The model imports opset " + opset + "; quantization writes "
                        + "per-channel DequantizeLinear, which needs opset 13 or later (re-export the model)");
            }
            new Optimizer(List.of(new IdentityElimination(), new DeadNodeElimination(), new BatchNormFolding(),
                    new DeadNodeElimination())).run(g, ctx);
            return g;
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
    }

    private record Calibrated(Map<String, float[]> ranges, int samples) {
    }

    /** Runs the calibration images and returns each activation's {@code [lo, hi]}. */
    private static Calibrated calibrate(Graph g, Set<String> acts, Dataset data, Options o, ThreadPool pool) {
        Set<Value> existing = new java.util.HashSet<>(g.outputs());
        for (String a : acts) {
            Value v = g.find(a);
            if (!existing.contains(v)) {
                g.outputs().add(v);
            }
        }
        // the model takes ownership of g (closing a graph twice is harmless)
        try (Model model = Model.fromGraph(g, Model.Options.defaults().withPool(pool))) {
            ImageSpec spec = ImageSpec.of(model);
            if (spec.channels() != data.channels() || spec.height() != data.height() || spec.width() != data.width()) {
                throw new IllegalArgumentException("The model takes " + spec.channels() + "×" + spec.height() + "×"
                        + spec.width() + " images; the calibration set has " + data.channels() + "×"
                        + data.height() + "×" + data.width());
            }
            int[] picks = pick(data.size(), o.samples());
            long[] dims = model.inputs().getFirst().type().dims();
            int declared = dims != null && dims.length > 0 && dims[0] > 0 ? (int) dims[0] : -1;
            int batch = declared > 0 ? declared : 32;
            String input = model.inputs().getFirst().name();
            Map<String, RangeCollector> collectors = new LinkedHashMap<>();
            for (String a : acts) {
                collectors.put(a, new RangeCollector());
            }
            boolean histogram = o.method() != Method.MINMAX;
            for (int pass = 0; pass < (histogram ? 2 : 1); pass++) {
                if (pass == 1) {
                    collectors.values().forEach(RangeCollector::startHistogram);
                }
                for (int start = 0; start < picks.length; start += batch) {
                    int n = Math.min(batch, picks.length - start);
                    int rows = declared > 0 ? declared : n;
                    try (Tensor x = images(data, spec, picks, start, n, rows)) {
                        Map<String, Tensor> outs = model.run(Map.of(input, x));
                        try {
                            for (var e : collectors.entrySet()) {
                                float[] v = values(outs.get(e.getKey()), rows, n);
                                if (pass == 0) {
                                    e.getValue().observeRange(v);
                                } else {
                                    e.getValue().observeHistogram(v);
                                }
                            }
                        } finally {
                            outs.values().forEach(Tensor::close);
                        }
                    }
                }
            }
            Map<String, float[]> ranges = new LinkedHashMap<>();
            collectors.forEach((k, c) -> ranges.put(k, c.range(o.method(), o.percentile())));
            return new Calibrated(ranges, picks.length);
        }
    }

    /** The activation values of the first {@code n} of {@code rows} images (padding rows dropped). */
    private static float[] values(Tensor t, int rows, int n) {
        float[] all = Elements.toFloats(t.contiguous());
        return n == rows ? all : Arrays.copyOf(all, (int) ((long) all.length * n / rows));
    }

    /** Sample indices: all of them, or {@code count} of them chosen with a fixed seed. */
    private static int[] pick(int size, int count) {
        int[] idx = new int[size];
        for (int i = 0; i < size; i++) {
            idx[i] = i;
        }
        if (count >= size) {
            return idx;
        }
        Random r = new Random(0);
        for (int i = 0; i < count; i++) {
            int j = i + r.nextInt(size - i);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        return Arrays.copyOf(idx, count);
    }

    /** A batch of preprocessed images (metadata's scale, mean, std and layout), zero rows past {@code n}. */
    static Tensor images(Dataset data, ImageSpec spec, int[] picks, int start, int n, int rows) {
        int c = data.channels(), h = data.height(), w = data.width(), sample = c * h * w;
        double[] mean = spec.mean(), std = spec.std();
        boolean nhwc = spec.layout().equals("NHWC");
        float[] buf = new float[rows * sample];
        float[] x = new float[sample];
        for (int i = 0; i < n; i++) {
            data.read(picks[start + i], x, 0);
            for (int ch = 0; ch < c; ch++) {
                for (int p = 0; p < h * w; p++) {
                    double v = (x[ch * h * w + p] * 255.0 * spec.scale() - mean[ch]) / std[ch];
                    buf[i * sample + (nhwc ? p * c + ch : ch * h * w + p)] = (float) v;
                }
            }
        }
        Tensor t = Tensor.allocate(DType.FLOAT32, nhwc ? Shape.of(rows, h, w, c) : Shape.of(rows, c, h, w));
        t.copyFrom(buf);
        return t;
    }

    // ---- rewriting

    /** uint8 asymmetric parameters for {@code [lo, hi]} (which includes 0). */
    static float[] activationParams(float[] range) {
        float lo = Math.min(0, range[0]), hi = Math.max(0, range[1]);
        float scale = (hi - lo) / 255f;
        if (!(scale > 0) || !Float.isFinite(scale)) {
            return new float[] {1f, 0};
        }
        float zero = (float) Math.min(255, Math.max(0, Math.rint(-lo / scale)));
        return new float[] {scale, zero};
    }

    private static void rewrite(Graph g, QuantPlan plan, Map<String, float[]> ranges) {
        List<Node> original = new ArrayList<>(g.nodes());
        NodeNames names = new NodeNames(g);
        Map<String, Value> dq = new LinkedHashMap<>();
        Map<String, float[]> params = new LinkedHashMap<>();
        for (String a : plan.activations()) {
            Value v = g.find(a);
            float[] p = activationParams(ranges.get(a));
            params.put(a, p);
            Value s = constant(g, a + "_scale", Tensor.ofFloats(Shape.scalar(), p[0]));
            Tensor zt = Tensor.allocate(DType.UINT8, Shape.scalar());
            Elements.setLong(zt, 0, (long) p[1]);
            Value z = constant(g, a + "_zero_point", zt);
            Value q = g.newValue(a + "_quantized");
            Value d = g.newValue(a + "_dequantized");
            Node qn = new Node(names.unique(a + "_QuantizeLinear"), "QuantizeLinear", "", List.of(v, s, z),
                    List.of(q), Map.of());
            Node dn = new Node(names.unique(a + "_DequantizeLinear"), "DequantizeLinear", "", List.of(q, s, z),
                    List.of(d), Map.of());
            // readers of v (not graph outputs) now read the dequantized value
            for (Node n : new ArrayList<>(g.nodes())) {
                n.inputs().replaceAll(x -> x == v ? d : x);
            }
            g.add(qn);
            g.add(dn);
            dq.put(a, d);
        }
        // a weight shared by several layers is quantized once (its scales depend on it alone); a shared bias once
        // per reader, since its scale is that reader's input scale times the weight scales
        Map<Value, Map<Integer, QuantizedWeight>> weights = new java.util.IdentityHashMap<>();
        for (int index : plan.nodes()) {
            Node n = original.get(index);
            String xName = plan.activations().stream().filter(a -> dq.get(a) == n.input(0)).findFirst()
                    .orElse(null);
            if (xName == null) {
                continue;
            }
            float xScale = params.get(xName)[0];
            boolean conv = n.opType().equals("Conv");
            boolean transB = n.opType().equals("Gemm") && QuantPlan.attrInt(n, "transB", 0) != 0;
            int axis = conv || transB ? 0 : 1;
            Value wv = n.input(1);
            QuantizedWeight w = weights.computeIfAbsent(wv, k -> new java.util.HashMap<>())
                    .computeIfAbsent(axis, ax -> quantizeWeights(g, names, wv, ax));
            n.inputs().set(1, w.dequantized());
            if (!n.opType().equals("MatMul") && n.inputs().size() > 2 && n.input(2) != null) {
                quantizeBias(g, names, n, xScale, w.scale());
            }
        }
        g.sort();
    }

    private static Value constant(Graph g, String hint, Tensor t) {
        Value v = g.newValue(hint);
        v.setConstant(t);
        return v;
    }

    /** A weight quantized to int8 per channel: the DequantizeLinear's output and the channels' scales. */
    private record QuantizedWeight(Value dequantized, float[] scale) {
    }

    /** DequantizeLinear(int8 weights, per-channel scale along {@code axis}) of the float constant {@code wv}. */
    private static QuantizedWeight quantizeWeights(Graph g, NodeNames names, Value wv, int axis) {
        Tensor w = wv.constant();
        Shape s = w.shape();
        float[] v = Elements.toFloats(w);
        int m = s.dim(axis);
        long inner = 1;
        for (int i = axis + 1; i < s.rank(); i++) {
            inner *= s.dim(i);
        }
        float[] max = new float[m];
        for (int i = 0; i < v.length; i++) {
            int c = (int) ((i / inner) % m);
            max[c] = Math.max(max[c], Math.abs(v[i]));
        }
        float[] scale = new float[m];
        for (int c = 0; c < m; c++) {
            scale[c] = max[c] > 0 ? max[c] / 127f : 1f;
        }
        Tensor q = Tensor.allocate(DType.INT8, s);
        for (int i = 0; i < v.length; i++) {
            int c = (int) ((i / inner) % m);
            Elements.setLong(q, i, (long) Math.max(-127, Math.min(127, Math.rint(v[i] / scale[c]))));
        }
        String base = wv.name();
        Value qv = constant(g, base + "_quantized", q);
        Value sv = constant(g, base + "_scale", Tensor.ofFloats(Shape.of(m), scale));
        Value zv = constant(g, base + "_zero_point", Tensor.allocate(DType.INT8, Shape.of(m)));
        zeroFill(zv.constant());
        Value d = g.newValue(base + "_dequantized");
        Map<String, Attribute> attrs = Map.of("axis", Attribute.of("axis", (long) axis));
        g.add(new Node(names.unique(base + "_DequantizeLinear"), "DequantizeLinear", "", List.of(qv, sv, zv),
                List.of(d), attrs));
        return new QuantizedWeight(d, scale);
    }

    private static void zeroFill(Tensor t) {
        t.segment().asSlice(t.offset(), t.size()).fill((byte) 0);
    }

    /** Replaces the float bias by DequantizeLinear(int32 bias, x_scale · w_scale); keeps it float if it overflows. */
    private static void quantizeBias(Graph g, NodeNames names, Node n, float xScale, float[] wScale) {
        Tensor b = n.input(2).constant();
        float[] v = Elements.toFloats(b);
        int m = wScale.length;
        if (v.length != m && v.length != 1) {
            return;
        }
        float[] scale = new float[m];
        long[] q = new long[m];
        for (int c = 0; c < m; c++) {
            scale[c] = xScale * wScale[c];
            double r = Math.rint(v[v.length == 1 ? 0 : c] / scale[c]);
            if (!(Math.abs(r) < Integer.MAX_VALUE)) {
                return;
            }
            q[c] = (long) r;
        }
        Tensor qt = Tensor.allocate(DType.INT32, Shape.of(m));
        for (int c = 0; c < m; c++) {
            Elements.setLong(qt, c, q[c]);
        }
        String base = n.input(2).name();
        Value qv = constant(g, base + "_quantized", qt);
        Value sv = constant(g, base + "_scale", Tensor.ofFloats(Shape.of(m), scale));
        Value d = g.newValue(base + "_dequantized");
        g.add(new Node(names.unique(base + "_DequantizeLinear"), "DequantizeLinear", "", List.of(qv, sv), List.of(d),
                Map.of("axis", Attribute.of("axis", 0L))));
        n.inputs().set(2, d);
    }
}
