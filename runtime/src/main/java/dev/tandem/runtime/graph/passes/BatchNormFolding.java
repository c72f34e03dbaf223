package dev.tandem.runtime.graph.passes;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Folds an inference BatchNormalization into the linear op before it, when that op's output feeds only the BN
 * and its weights are float32 constants: with {@code s = scale / sqrt(var + eps)},
 * {@code W' = W · s} (per output channel) and {@code B' = (B - mean) · s + bias} (B = 0 when absent).
 * <ul>
 *   <li>Conv, or FusedConv without activation or residual: channel = W's axis 0;</li>
 *   <li>Gemm: channel = output column (B's row with transB=1, column otherwise); C must be absent, a scalar or one
 *       value per column; the folded C has beta 1;</li>
 *   <li>MatMul with a constant 2-D B whose other input is known to be 2-D (a declared rank-2 graph input or a
 *       Flatten output, so that BN's channel axis 1 is the column axis): becomes a Gemm with C = B'.</li>
 * </ul>
 * New weights are new constants; the old ones are freed by {@link DeadNodeElimination} when nothing else reads
 * them.
 */
public final class BatchNormFolding implements Pass {
    @Override
    public String name() {
        return "batchnorm-folding";
    }

    @Override
    public boolean apply(Graph graph, PassContext ctx) {
        boolean changed = false;
        for (Node bn : new ArrayList<>(graph.nodes())) {
            if (PassSupport.is(bn, "BatchNormalization") && graph.nodes().contains(bn) && fold(graph, ctx, bn)) {
                changed = true;
            }
        }
        if (changed) {
            graph.sort();
        }
        return changed;
    }

    private static boolean fold(Graph graph, PassContext ctx, Node bn) {
        int opset = graph.opset("");
        if (PassSupport.attrInt(bn, "training_mode", 0) != 0 || opset < 9 && PassSupport.attrInt(bn, "spatial", 1)
                != 1 || opset < 7 && PassSupport.attrInt(bn, "is_test", 0) == 0) {
            return false;
        }
        Map<Value, List<Node>> consumers = graph.consumers();
        for (int o = 1; o < bn.outputs().size(); o++) {
            if (!PassSupport.unused(graph, consumers, bn.output(o))) {
                return false;
            }
        }
        double[][] p = new double[4][];
        for (int i = 0; i < 4; i++) {
            Value v = bn.input(i + 1);
            if (v == null || !v.isConstant() || !v.constant().dtype().isFloatingPoint()) {
                return false;
            }
            p[i] = doubles(v.constant());
        }
        int c = p[0].length;
        for (double[] a : p) {
            if (a.length != c) {
                return false;
            }
        }
        double eps = PassSupport.attrFloat(bn, "epsilon", 1e-5f);
        double[] s = new double[c];
        double[] shift = new double[c];
        for (int i = 0; i < c; i++) {
            s[i] = p[0][i] / Math.sqrt(p[3][i] + eps);
            shift[i] = p[1][i] - p[2][i] * s[i];
        }
        Value x = bn.input(0);
        Node prod = x == null ? null : x.producer();
        if (prod == null || !PassSupport.soleReader(graph, consumers, x, bn)) {
            return false;
        }
        if (PassSupport.isPlainConv(prod, false)) {
            return foldConv(graph, bn, prod, s, shift);
        }
        if (PassSupport.is(prod, "Gemm")) {
            return foldGemm(graph, bn, prod, s, shift);
        }
        if (PassSupport.is(prod, "MatMul") && opset >= 7 && ctx.registry().find("", "Gemm") != null) {
            return foldMatMul(graph, bn, prod, s, shift);
        }
        return false;
    }

    private static boolean foldConv(Graph graph, Node bn, Node conv, double[] s, double[] shift) {
        Value w = conv.input(1);
        Value b = conv.input(2);
        if (!isF32(w) || w.constant().rank() < 1 || w.constant().shape().dim(0) != s.length) {
            return false;
        }
        if (b != null && (!isF32(b) || b.constant().size() != s.length)) {
            return false;
        }
        Shape ws = w.constant().shape();
        Tensor nw = scaleRows(w.constant(), s, (int) (ws.size() / s.length));
        Tensor nb = bias(b, s, shift, 1);
        List<Value> in = new ArrayList<>(conv.inputs());
        while (in.size() < 3) {
            in.add(null);
        }
        in.set(1, constant(graph, w.name() + "_bn", nw));
        in.set(2, constant(graph, (b != null ? b.name() : conv.name() + "_bias") + "_bn", nb));
        replace(graph, bn, conv, in, conv.attributes());
        return true;
    }

    private static boolean foldGemm(Graph graph, Node bn, Node gemm, double[] s, double[] shift) {
        Value bv = gemm.input(1);
        Value cv = gemm.input(2);
        if (!isF32(bv) || bv.constant().rank() != 2) {
            return false;
        }
        boolean transB = PassSupport.attrInt(gemm, "transB", 0) != 0;
        int[] d = bv.constant().shape().dims();
        int n = transB ? d[0] : d[1];
        if (n != s.length) {
            return false;
        }
        float beta = PassSupport.attrFloat(gemm, "beta", 1f);
        if (cv != null && (!isF32(cv) || (cv.constant().size() != n && cv.constant().size() != 1)
                || cv.constant().rank() == 2 && cv.constant().shape().dim(0) != 1)) {
            return false;
        }
        Tensor nb = transB ? scaleRows(bv.constant(), s, d[1]) : scaleColumns(bv.constant(), s);
        Tensor nc = bias(cv, s, shift, beta);
        List<Value> in = new ArrayList<>(gemm.inputs());
        while (in.size() < 3) {
            in.add(null);
        }
        in.set(1, constant(graph, bv.name() + "_bn", nb));
        in.set(2, constant(graph, (cv != null ? cv.name() : gemm.name() + "_bias") + "_bn", nc));
        Map<String, Attribute> attrs = new java.util.LinkedHashMap<>(gemm.attributes());
        attrs.put("beta", Attribute.of("beta", 1f));
        replace(graph, bn, gemm, in, attrs);
        return true;
    }

    private static boolean foldMatMul(Graph graph, Node bn, Node mm, double[] s, double[] shift) {
        Value a = mm.input(0);
        Value bv = mm.input(1);
        if (!isF32(bv) || bv.constant().rank() != 2 || bv.constant().shape().dim(1) != s.length) {
            return false;
        }
        boolean rank2 = a.declared() != null && a.declared().dims() != null && a.declared().dims().length == 2
                || PassSupport.is(a.producer(), "Flatten");
        if (!rank2) {
            return false;
        }
        Tensor nb = scaleColumns(bv.constant(), s);
        Tensor nc = bias(null, s, shift, 1);
        List<Value> in = List.of(a, constant(graph, bv.name() + "_bn", nb),
                constant(graph, mm.name() + "_bias_bn", nc));
        Node gemm = new Node(mm.name(), "Gemm", "", in, List.of(bn.output(0)), Map.of());
        graph.remove(bn);
        PassSupport.replaceNode(graph, mm, gemm);
        return true;
    }

    private static void replace(Graph graph, Node bn, Node prod, List<Value> in, Map<String, Attribute> attrs) {
        Node folded = new Node(prod.name(), prod.opType(), prod.domain(), PassSupport.trim(in),
                PassSupport.outputsReplacing(prod, prod.output(0), bn.output(0)), attrs);
        graph.remove(bn);
        PassSupport.replaceNode(graph, prod, folded);
    }

    private static boolean isF32(Value v) {
        return v != null && v.isConstant() && v.constant().dtype() == DType.FLOAT32;
    }

    private static double[] doubles(Tensor t) {
        float[] f = Elements.toFloats(t);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** W with row block {@code i} (of {@code inner} elements) scaled by {@code s[i]}. */
    private static Tensor scaleRows(Tensor w, double[] s, int inner) {
        float[] v = w.toFloatArray();
        for (int i = 0; i < s.length; i++) {
            for (int j = 0; j < inner; j++) {
                v[i * inner + j] = (float) (v[i * inner + j] * s[i]);
            }
        }
        return Tensor.ofFloats(w.shape(), v);
    }

    /** A 2-D W with column {@code j} scaled by {@code s[j]}. */
    private static Tensor scaleColumns(Tensor w, double[] s) {
        float[] v = w.toFloatArray();
        int n = s.length;
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] * s[i % n]);
        }
        return Tensor.ofFloats(w.shape(), v);
    }

    /** {@code (beta·B - mean)·s + bias} per channel, i.e. {@code beta·B·s + shift}. */
    private static Tensor bias(Value b, double[] s, double[] shift, float beta) {
        float[] old = b == null ? null : b.constant().toFloatArray();
        float[] out = new float[s.length];
        for (int i = 0; i < s.length; i++) {
            double bi = old == null ? 0 : old[old.length == 1 ? 0 : i];
            out[i] = (float) (beta * bi * s[i] + shift[i]);
        }
        return Tensor.ofFloats(Shape.of(s.length), out);
    }

    private static Value constant(Graph graph, String hint, Tensor t) {
        Value v = graph.newValue(hint);
        v.setConstant(t);
        return v;
    }
}
