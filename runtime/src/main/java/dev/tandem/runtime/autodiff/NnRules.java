package dev.tandem.runtime.autodiff;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Gradient rules of the network ops: convolution, dense layers, pooling, normalisation, dropout, losses. */
final class NnRules {
    private NnRules() {
    }

    static void register(Rules r) {
        r.add("Conv", c -> {
            Value[] out = new Value[3];
            if (c.needs(0)) {
                out[0] = c.tandem("ConvGradInput", List.of(c.dy(0), c.x(1), c.shapeOf(c.x(0))), c.attrsExcept());
            }
            boolean bias = c.x(2) != null && c.needs(2);
            if (c.needs(1) || bias) {
                Value[] g = c.emit(dev.tandem.runtime.graph.Node.TANDEM_DOMAIN, "ConvGradWeight", bias ? 2 : 1,
                        List.of(c.dy(0), c.x(0), c.shapeOf(c.x(1))), c.attrsExcept());
                out[1] = c.needs(1) ? g[0] : null;
                out[2] = bias ? g[1] : null;
            }
            return out;
        });
        r.add("Gemm", NnRules::gemm);
        r.add("MatMul", c -> {
            // 2-D: dA = dY·Bᵀ, dB = Aᵀ·dY
            Value da = c.needs(0) ? c.op("Gemm", List.of(c.dy(0), c.x(1)), Attribute.of("transB", 1L)) : null;
            Value db = c.needs(1) ? c.op("Gemm", List.of(c.x(0), c.dy(0)), Attribute.of("transA", 1L)) : null;
            return new Value[] {da, db};
        });
        r.add("MaxPool", c -> {
            c.requireNoGradFrom(1);
            return new Value[] {pool(c, "max")};
        });
        r.add("AveragePool", c -> new Value[] {pool(c, "average")});
        r.add("GlobalAveragePool", c -> new Value[] {pool(c, "global_average")});
        r.add("GlobalMaxPool", c -> new Value[] {pool(c, "global_max")});
        r.add("Dropout", c -> new Value[] {c.dy(0), null, null});
        r.addTandem("DropoutTrain", c -> new Value[] {c.op("Mul", List.of(c.dy(0), c.y(1))), null});
        r.addTandem("BatchNormTrain", c -> {
            c.requireNoGradFrom(1);
            Value[] g = c.emit(dev.tandem.runtime.graph.Node.TANDEM_DOMAIN, "BatchNormGrad", 3,
                    List.of(c.dy(0), c.x(0), c.x(1), c.y(1), c.y(2)), List.of());
            return new Value[] {c.needs(0) ? g[0] : null, c.needs(1) ? g[1] : null, c.needs(2) ? g[2] : null,
                    null, null};
        });
        r.add("NegativeLogLikelihoodLoss", c -> {
            List<Value> in = new ArrayList<>(Arrays.asList(c.dy(0), c.x(0), c.x(1)));
            if (c.x(2) != null) {
                in.add(c.x(2));
            }
            return new Value[] {c.tandem("NllLossGrad", in, c.attrsExcept()), null, null};
        });
        r.addTandem("SoftmaxCrossEntropy", c -> {
            c.requireNoGradFrom(1);
            List<Value> in = new ArrayList<>(Arrays.asList(c.dy(0), c.y(1), c.x(1)));
            if (c.x(2) != null) {
                in.add(c.x(2));
            }
            return new Value[] {c.tandem("SoftmaxCrossEntropyGrad", in, c.attrsExcept()), null, null};
        });
    }

    private static Value pool(GradContext c, String mode) {
        List<Attribute> attrs = new ArrayList<>(c.attrsExcept("storage_order"));
        attrs.add(Attribute.of("mode", mode));
        return c.tandem("PoolGrad", List.of(c.dy(0), c.x(0)), attrs);
    }

    /** Y = alpha·op(A)·op(B) + beta·C. */
    private static Value[] gemm(GradContext c) {
        float alpha = floatAttr(c, "alpha", 1f), beta = floatAttr(c, "beta", 1f);
        boolean ta = longAttr(c, "transA") != 0, tb = longAttr(c, "transB") != 0;
        Attribute al = Attribute.of("alpha", alpha);
        Value dy = c.dy(0), a = c.x(0), b = c.x(1);
        Value da = null, db = null, dc = null;
        if (c.needs(0)) {
            da = ta ? c.op("Gemm", List.of(b, dy), al, Attribute.of("transA", tb ? 1L : 0L), Attribute.of("transB", 1L))
                    : c.op("Gemm", List.of(dy, b), al, Attribute.of("transB", tb ? 0L : 1L));
        }
        if (c.needs(1)) {
            db = tb ? c.op("Gemm", List.of(dy, a), al, Attribute.of("transA", 1L), Attribute.of("transB", ta ? 1L : 0L))
                    : c.op("Gemm", List.of(a, dy), al, Attribute.of("transA", ta ? 0L : 1L));
        }
        if (c.x(2) != null && c.needs(2)) {
            Value g = beta == 1f ? dy : c.op("Mul", List.of(dy, c.scalarLike(beta, dy)));
            dc = c.unbroadcast(g, c.x(2));
        }
        return new Value[] {da, db, dc};
    }

    private static float floatAttr(GradContext c, String name, float def) {
        Attribute a = c.node().attribute(name);
        return a == null ? def : ((Number) a.value()).floatValue();
    }

    private static long longAttr(GradContext c, String name) {
        Attribute a = c.node().attribute(name);
        return a == null ? 0 : (Long) a.value();
    }
}
