package dev.tandem.runtime.autodiff;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Value;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Gradient rules of the element-wise and reduction ops. */
final class MathRules {
    private MathRules() {
    }

    static void register(Rules r) {
        r.add("Add", c -> new Value[] {c.needs(0) ? c.unbroadcast(c.dy(0), c.x(0)) : null,
                c.needs(1) ? c.unbroadcast(c.dy(0), c.x(1)) : null});
        r.add("Sub", c -> new Value[] {c.needs(0) ? c.unbroadcast(c.dy(0), c.x(0)) : null,
                c.needs(1) ? c.unbroadcast(c.op("Neg", List.of(c.dy(0))), c.x(1)) : null});
        r.add("Mul", c -> new Value[] {
                c.needs(0) ? c.unbroadcast(c.op("Mul", List.of(c.dy(0), c.x(1))), c.x(0)) : null,
                c.needs(1) ? c.unbroadcast(c.op("Mul", List.of(c.dy(0), c.x(0))), c.x(1)) : null});
        r.add("Div", c -> new Value[] {
                c.needs(0) ? c.unbroadcast(c.op("Div", List.of(c.dy(0), c.x(1))), c.x(0)) : null,
                c.needs(1) ? c.unbroadcast(c.op("Neg", List.of(c.op("Div", List.of(
                        c.op("Mul", List.of(c.dy(0), c.y(0))), c.x(1))))), c.x(1)) : null});
        r.add("Sum", c -> {
            Value[] out = new Value[c.node().inputs().size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = c.needs(i) ? c.unbroadcast(c.dy(0), c.x(i)) : null;
            }
            return out;
        });
        r.add("Neg", c -> new Value[] {c.op("Neg", List.of(c.dy(0)))});
        r.add("Identity", c -> new Value[] {c.dy(0)});
        r.add("Exp", c -> new Value[] {c.op("Mul", List.of(c.dy(0), c.y(0)))});
        r.add("Log", c -> new Value[] {c.op("Div", List.of(c.dy(0), c.x(0)))});
        r.add("Sqrt", c -> new Value[] {c.op("Div", List.of(c.dy(0), c.op("Add", List.of(c.y(0), c.y(0)))))});
        r.add("Abs", c -> new Value[] {c.op("Mul", List.of(c.dy(0), c.op("Sign", List.of(c.x(0)))))});
        r.add("Pow", c -> {
            // d/dx x^e = e·x^(e-1); the exponent gets no gradient.
            Value e = c.op("CastLike", List.of(c.x(1), c.x(0)));
            Value em1 = c.op("Sub", List.of(e, c.scalarLike(1, e)));
            Value d = c.op("Mul", List.of(e, c.op("Pow", List.of(c.x(0), em1))));
            return new Value[] {c.unbroadcast(c.op("Mul", List.of(c.dy(0), d)), c.x(0)), null};
        });
        for (String a : List.of("Relu", "Sigmoid", "Tanh")) {
            r.add(a, c -> new Value[] {activation(c, a, null, c.y(0))});
        }
        for (String a : List.of("LeakyRelu", "HardSigmoid", "HardSwish", "Elu", "Selu", "Softplus")) {
            r.add(a, c -> new Value[] {activation(c, a, c.x(0), null)});
        }
        r.add("Clip", c -> {
            List<Value> in = new ArrayList<>(Arrays.asList(c.dy(0), c.x(0), null, c.x(1), c.x(2)));
            while (in.get(in.size() - 1) == null) {
                in.remove(in.size() - 1);
            }
            List<Attribute> attrs = new ArrayList<>(c.attrsExcept());
            attrs.add(Attribute.of("activation", "Clip"));
            return new Value[] {c.tandem("ActivationGrad", in, attrs), null, null};
        });
        r.add("ReduceSum", c -> new Value[] {reduceGrad(c, false), null});
        r.add("ReduceMean", c -> new Value[] {reduceGrad(c, true), null});
        r.add("Softmax", c -> {
            // dX = Y·(dY - Σ dY·Y) along the axis
            long axis = axis(c);
            Value dyY = c.op("Mul", List.of(c.dy(0), c.y(0)));
            Value s = c.reduceSum(dyY, new long[] {axis}, true);
            return new Value[] {c.op("Mul", List.of(c.y(0), c.op("Sub", List.of(c.dy(0), s))))};
        });
        r.add("LogSoftmax", c -> {
            // dX = dY - softmax·Σ dY along the axis
            long axis = axis(c);
            Value s = c.reduceSum(c.dy(0), new long[] {axis}, true);
            Value p = c.op("Exp", List.of(c.y(0)));
            return new Value[] {c.op("Sub", List.of(c.dy(0), c.op("Mul", List.of(p, s))))};
        });
    }

    static Value activation(GradContext c, String act, Value x, Value y) {
        List<Attribute> attrs = new ArrayList<>(c.attrsExcept());
        attrs.add(Attribute.of("activation", act));
        List<Value> in = y == null ? List.of(c.dy(0), x) : Arrays.asList(c.dy(0), null, y);
        return c.tandem("ActivationGrad", in, attrs);
    }

    private static long axis(GradContext c) {
        Attribute a = c.node().attribute("axis");
        if (a != null) {
            return (Long) a.value();
        }
        if (c.opset() < 13) {
            throw new dev.tandem.runtime.UnsupportedModelException("No gradient for " + c.node().describe()
                    + " before opset 13 without an explicit axis (it flattens to 2-D)");
        }
        return -1;
    }

    /** ReduceSum/ReduceMean: broadcast dY back over the reduced axes (then divide by the count for the mean). */
    private static Value reduceGrad(GradContext c, boolean mean) {
        long[] axes = null;
        Attribute a = c.node().attribute("axes");
        if (a != null) {
            axes = (long[]) a.value();
        } else if (c.x(1) != null) {
            if (!c.x(1).isConstant()) {
                throw new dev.tandem.runtime.UnsupportedModelException("No gradient for " + c.node().describe()
                        + ": its axes must be a constant");
            }
            axes = dev.tandem.runtime.ops.Elements.toLongs(c.x(1).constant());
        }
        Attribute k = c.node().attribute("keepdims");
        boolean keep = k == null || (Long) k.value() != 0;
        Value dy = c.dy(0);
        if (!keep && axes != null && axes.length > 0) {
            dy = c.unsqueeze(dy, axes);
        }
        Value g = c.op("Expand", List.of(dy, c.shapeOf(c.x(0))));
        if (mean) {
            Value count = c.op("Div", List.of(c.op("Size", List.of(c.x(0))), c.op("Size", List.of(c.y(0)))));
            g = c.op("Div", List.of(g, c.op("CastLike", List.of(count, g))));
        }
        return g;
    }
}
