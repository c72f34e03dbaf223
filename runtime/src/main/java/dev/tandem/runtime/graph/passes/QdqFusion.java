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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuses the QDQ pattern of a quantized model, {@code DequantizeLinear(x) → Conv | Gemm | MatMul [→ Relu | Clip] →
 * QuantizeLinear}, with constant 8-bit weights behind their own DequantizeLinear, into one integer op:
 * {@code dev.tandem.QConv} (from Conv) or {@code dev.tandem.QGemm} (from Gemm and MatMul). Inputs of the fused node:
 * x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B (float32, real units: a float
 * constant, or an int32 constant behind a DequantizeLinear, multiplied out here).
 *
 * <p>Fused only when: x's scale is a scalar and its zero point an 8-bit scalar (which fixes x's type), all known at
 * load (initializers or Constant nodes); the weights' scale is a scalar or one per output channel along the
 * output-channel axis (Conv and Gemm with transB: axis 0; MatMul and Gemm without: axis 1); the output
 * QuantizeLinear has a scalar scale and 8-bit zero point; Gemm has alpha = beta = 1 and no transA; a Clip's bounds
 * are float32 constants (or attributes before opset 11) with min ≤ max; the linear op's (and the activation's)
 * output has no other reader and is no graph output. The activation becomes the fused op's {@code activation}
 * ("Relu" or "Clip", with {@code activation_min}/{@code activation_max} in real units), a clamp applied before the
 * output is requantized. A Gemm or MatMul of the same form whose float result no QuantizeLinear reads (a
 * classifier's last layer, a graph output) becomes a QGemm with float32 output (no y_scale, y_zero_point), so that
 * its weights stay 8-bit. Runs before {@link ConstantFolding}, which would otherwise turn the weights'
 * DequantizeLinear into a float constant; what is not fused is then folded and runs in float, correctly.
 */
public final class QdqFusion implements Pass {
    @Override
    public String name() {
        return "qdq-fusion";
    }

    @Override
    public boolean apply(Graph graph, PassContext ctx) {
        if (ctx.registry().find(Node.TANDEM_DOMAIN, "QConv") == null
                || ctx.registry().find(Node.TANDEM_DOMAIN, "QGemm") == null) {
            return false;
        }
        boolean changed = false;
        for (Node q : new ArrayList<>(graph.nodes())) {
            if (PassSupport.is(q, "QuantizeLinear") && graph.nodes().contains(q) && fuse(graph, q)) {
                changed = true;
            }
        }
        for (Node lin : new ArrayList<>(graph.nodes())) {
            if (graph.nodes().contains(lin) && fuseFloat(graph, lin)) {
                changed = true;
            }
        }
        if (changed) {
            graph.sort();
        }
        return changed;
    }

    private static boolean fuse(Graph graph, Node q) {
        Map<Value, List<Node>> consumers = graph.consumers();
        Value t = q.input(0);
        Node act = null;
        float[] clamp = null;
        Node lin = t.producer();
        if (PassSupport.is(lin, "Relu") || PassSupport.is(lin, "Clip")) {
            act = lin;
            clamp = clamp(graph, act);
            if (clamp == null || act.outputs().size() != 1 || !PassSupport.soleReader(graph, consumers, t, q)) {
                return false;
            }
            t = act.input(0);
            lin = t == null ? null : t.producer();
            if (!PassSupport.soleReader(graph, consumers, t, act)) {
                return false;
            }
        } else if (!PassSupport.soleReader(graph, consumers, t, q)) {
            return false;
        }
        Tensor ys = PassSupport.known(q.input(1)), yz = q.inputs().size() > 2 ? PassSupport.known(q.input(2)) : null;
        if (!scalar(ys) || !eightBit(yz) || yz.size() != 1) {
            return false;
        }
        Linear l = match(graph, lin);
        if (l == null) {
            return false;
        }
        List<Value> in = new ArrayList<>(l.in());
        in.add(PassSupport.constValue(graph, q.input(1)));
        in.add(PassSupport.constValue(graph, q.input(2)));
        Node fused = fused(graph, lin, l, in, q.output(0));
        if (act != null) {
            fused.attributes().put("activation", Attribute.of("activation", act.opType()));
            if (act.opType().equals("Clip")) {
                fused.attributes().put("activation_min", Attribute.of("activation_min", clamp[0]));
                fused.attributes().put("activation_max", Attribute.of("activation_max", clamp[1]));
            }
        }
        graph.remove(q);
        if (act != null) {
            graph.remove(act);
        }
        PassSupport.replaceNode(graph, lin, fused);
        return true;
    }

    /**
     * A Gemm or MatMul between DequantizeLinear nodes whose float result is not quantized again (a classifier's last
     * layer): a QGemm with float32 output, so that its weights stay 8-bit.
     */
    private static boolean fuseFloat(Graph graph, Node lin) {
        if (!PassSupport.is(lin, "Gemm") && !PassSupport.is(lin, "MatMul") || lin.outputs().size() != 1) {
            return false;
        }
        for (Node r : PassSupport.readers(graph.consumers(), lin.output(0))) {
            if (PassSupport.is(r, "QuantizeLinear")) {
                return false;
            }
        }
        Linear l = match(graph, lin);
        if (l == null) {
            return false;
        }
        List<Value> in = new ArrayList<>(l.in());
        in.add(null);
        in.add(null);
        PassSupport.replaceNode(graph, lin, fused(graph, lin, l, in, lin.output(0)));
        return true;
    }

    /** The fused node: inputs {@code in} (eight), then the bias; Conv's attributes or Gemm's transB. */
    private static Node fused(Graph graph, Node lin, Linear l, List<Value> in, Value out) {
        if (l.bias() != null) {
            Value b = graph.newValue(lin.name() + "_qbias");
            b.setConstant(l.bias());
            in.add(b);
        }
        Map<String, Attribute> attrs = new LinkedHashMap<>();
        if (l.conv()) {
            attrs.putAll(lin.attributes());
        } else if (l.transB()) {
            attrs.put("transB", Attribute.of("transB", 1L));
        }
        return new Node(lin.name(), l.conv() ? "QConv" : "QGemm", Node.TANDEM_DOMAIN, in, List.of(out), attrs);
    }

    /**
     * The fused op's first six inputs (x, x_scale, x_zero_point, w, w_scale, w_zero_point) and bias when {@code lin}
     * is a Conv, Gemm or MatMul between DequantizeLinear nodes as the class comment says; else null.
     */
    private static Linear match(Graph graph, Node lin) {
        boolean conv = PassSupport.is(lin, "Conv");
        boolean gemm = PassSupport.is(lin, "Gemm");
        boolean matmul = PassSupport.is(lin, "MatMul");
        if (!conv && !gemm && !matmul || lin.outputs().size() != 1) {
            return null;
        }
        boolean transB = gemm && PassSupport.attrInt(lin, "transB", 0) != 0;
        if (gemm && (PassSupport.attrInt(lin, "transA", 0) != 0 || PassSupport.attrFloat(lin, "alpha", 1f) != 1f
                || PassSupport.attrFloat(lin, "beta", 1f) != 1f)) {
            return null;
        }
        Node dx = lin.input(0) == null ? null : lin.input(0).producer();
        if (!PassSupport.is(dx, "DequantizeLinear") || dx.inputs().size() < 3) {
            return null;
        }
        Tensor xs = PassSupport.known(dx.input(1)), xz = PassSupport.known(dx.input(2));
        if (!scalar(xs) || !eightBit(xz) || xz.size() != 1) {
            return null;
        }
        if (matmul && lin.input(0).declared() != null && lin.input(0).declared().dims() != null
                && lin.input(0).declared().dims().length < 2) {
            return null;
        }
        Node dw = lin.input(1) == null ? null : lin.input(1).producer();
        if (!PassSupport.is(dw, "DequantizeLinear")) {
            return null;
        }
        Tensor w = PassSupport.known(dw.input(0)), ws = PassSupport.known(dw.input(1));
        Tensor wz = dw.inputs().size() > 2 && dw.input(2) != null ? PassSupport.known(dw.input(2)) : null;
        if (w == null || !eightBit(w) || ws == null || ws.dtype() != DType.FLOAT32
                || dw.inputs().size() > 2 && dw.input(2) != null && (wz == null || wz.dtype() != w.dtype())) {
            return null;
        }
        int outAxis = conv || transB ? 0 : 1;
        if (w.rank() < 2 || !conv && w.rank() != 2) {
            return null;
        }
        int m = w.shape().dim(outAxis);
        if (ws.size() != 1) {
            long axis = PassSupport.attrInt(dw, "axis", 1);
            if (axis < 0) {
                axis += w.rank();
            }
            if (ws.rank() != 1 || ws.size() != m || axis != outAxis || wz != null && wz.size() != m) {
                return null;
            }
        }
        Tensor bias = null;
        if (!matmul && lin.inputs().size() > 2 && lin.input(2) != null) {
            bias = bias(lin.input(2), m);
            if (bias == null) {
                return null;
            }
        }
        List<Value> in = new ArrayList<>();
        in.add(dx.input(0));
        in.add(PassSupport.constValue(graph, dx.input(1)));
        in.add(PassSupport.constValue(graph, dx.input(2)));
        in.add(PassSupport.constValue(graph, dw.input(0)));
        in.add(PassSupport.constValue(graph, dw.input(1)));
        in.add(wz == null ? null : PassSupport.constValue(graph, dw.input(2)));
        return new Linear(in, bias, conv, transB);
    }

    private record Linear(List<Value> in, Tensor bias, boolean conv, boolean transB) {
    }

    /**
     * The bounds {@code [min, max]} of a Relu ({@code [0, +∞]}) or of a Clip whose bounds are known at load (inputs
     * from opset 11, attributes before; an absent bound is infinite), or null when they are not known or min > max.
     */
    private static float[] clamp(Graph graph, Node a) {
        if (a.opType().equals("Relu")) {
            return new float[] {0f, Float.POSITIVE_INFINITY};
        }
        float[] b = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY};
        if (graph.opset("") < 11) {
            b[0] = PassSupport.attrFloat(a, "min", b[0]);
            b[1] = PassSupport.attrFloat(a, "max", b[1]);
        } else {
            for (int i = 1; i <= 2; i++) {
                if (a.inputs().size() <= i || a.input(i) == null) {
                    continue;
                }
                Tensor c = PassSupport.known(a.input(i));
                if (c == null || c.size() != 1 || c.dtype() != DType.FLOAT32) {
                    return null;
                }
                b[i - 1] = Elements.toFloats(c)[0];
            }
        }
        return b[0] <= b[1] ? b : null;
    }

    /** The bias as float32 [m] in real units: a float constant, or DequantizeLinear of an int32 constant. */
    private static Tensor bias(Value v, int m) {
        Tensor c = PassSupport.known(v);
        float[] b;
        if (c != null) {
            if (c.dtype() != DType.FLOAT32 || c.size() != m && c.size() != 1) {
                return null;
            }
            b = Elements.toFloats(c);
        } else {
            Node d = v.producer();
            if (!PassSupport.is(d, "DequantizeLinear")) {
                return null;
            }
            Tensor bq = PassSupport.known(d.input(0)), bs = PassSupport.known(d.input(1));
            Tensor bz = d.inputs().size() > 2 && d.input(2) != null ? PassSupport.known(d.input(2)) : null;
            if (bq == null || bs == null || bq.dtype() != DType.INT32 || bq.size() != m && bq.size() != 1
                    || bs.dtype() != DType.FLOAT32 || bs.size() != 1 && bs.size() != bq.size()
                    || d.inputs().size() > 2 && d.input(2) != null && (bz == null || bz.size() != bs.size())) {
                return null;
            }
            long[] q = Elements.toLongs(bq);
            float[] s = Elements.toFloats(bs);
            long[] z = bz == null ? new long[s.length] : Elements.toLongs(bz);
            b = new float[q.length];
            for (int i = 0; i < q.length; i++) {
                int j = s.length == 1 ? 0 : i;
                b[i] = (float) (q[i] - z[j]) * s[j];
            }
        }
        float[] full = new float[m];
        for (int i = 0; i < m; i++) {
            full[i] = b[b.length == 1 ? 0 : i];
        }
        return Tensor.ofFloats(Shape.of(m), full);
    }

    private static boolean scalar(Tensor t) {
        return t != null && t.dtype() == DType.FLOAT32 && t.size() == 1;
    }

    private static boolean eightBit(Tensor t) {
        return t != null && (t.dtype() == DType.UINT8 || t.dtype() == DType.INT8);
    }
}
