package dev.tandem.runtime.ops.math;

import dev.tandem.runtime.kernels.Reduce;
import dev.tandem.runtime.ops.OpRegistry;

/** Registers the ops of this package: elementwise math, comparisons, casts and reductions. */
public final class MathOps {
    private MathOps() {
    }

    public static void register(OpRegistry r) {
        r.add(new Relu());
        for (Arithmetic.Kind k : Arithmetic.Kind.values()) {
            r.add(new Arithmetic(k));
        }
        for (Predicate.Kind k : Predicate.Kind.values()) {
            r.add(new Predicate(k));
        }
        for (Variadic.Kind k : Variadic.Kind.values()) {
            r.add(new Variadic(k));
        }
        for (Unary.Kind k : Unary.Kind.values()) {
            r.add(new Unary(k));
        }
        for (ParamActivation.Kind k : ParamActivation.Kind.values()) {
            r.add(new ParamActivation(k));
        }
        r.add(new Where());
        r.add(new PRelu());
        r.add(new Clip());
        r.add(new Cast(false));
        r.add(new Cast(true));
        for (Reduce.Op op : Reduce.Op.values()) {
            r.add(new Reduction(op));
        }
        r.add(new ArgExtreme(true));
        r.add(new ArgExtreme(false));
    }
}
