package dev.tandem.train.optim;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.train.nn.Traced;
import dev.tandem.train.nn.Tracer;
import dev.tandem.train.nn.Var;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Builds the step node shared by the optimizers: lr, [step], p…, g…, state… → grad_norm. */
final class StepNodes {
    private StepNodes() {
    }

    /**
     * @param attributes the optimizer's own attributes, in order; {@code decay} and {@code max_grad_norm} are
     *                   inserted (decay before max_grad_norm, at the end)
     */
    static OptimizerStep emit(Optimizer o, String opType, boolean withStep, Tracer t, List<Traced.Binding> params,
                              List<Value> grads, List<Attribute> attributes) {
        return emit(o, opType, withStep, false, t, params, grads, attributes);
    }

    /** @param withMomentum declare the momentum scalar input after lr (SGD with a momentum schedule) */
    static OptimizerStep emit(Optimizer o, String opType, boolean withStep, boolean withMomentum, Tracer t,
                              List<Traced.Binding> params, List<Value> grads, List<Attribute> attributes) {
        if (params.isEmpty()) {
            throw new IllegalArgumentException(opType + ": no parameters to optimize");
        }
        if (params.size() != grads.size()) {
            throw new IllegalArgumentException(opType + ": " + params.size() + " parameters but " + grads.size()
                    + " gradients");
        }
        for (Traced.Binding b : params) {
            if (!b.parameter().trainable()) {
                throw new IllegalArgumentException(opType + ": '" + b.name() + "' is a buffer, not a parameter");
            }
            if (b.var().value().isConstant()) {
                throw new IllegalArgumentException(opType + ": '" + b.name() + "' is an initializer; trace in TRAIN "
                        + "mode so parameters are graph inputs");
            }
        }
        Var lr = t.input(OptimizerStep.LR_INPUT, DType.FLOAT32);
        Var momentum = withMomentum ? t.input(OptimizerStep.MOMENTUM_INPUT, DType.FLOAT32) : null;
        Var step = withStep ? t.input(OptimizerStep.STEP_INPUT, DType.INT64) : null;
        List<Var> in = new ArrayList<>();
        in.add(lr);
        if (momentum != null) {
            in.add(momentum);
        }
        if (step != null) {
            in.add(step);
        }
        long[] decay = new long[params.size()];
        for (int i = 0; i < params.size(); i++) {
            Traced.Binding b = params.get(i);
            in.add(b.var());
            decay[i] = o.decays(b.name(), b.parameter().shape()) ? 1 : 0;
        }
        for (int i = 0; i < params.size(); i++) {
            in.add(t.wrap(grads.get(i), DType.FLOAT32, params.get(i).var().shape()));
        }
        List<OptimizerStep.State> state = new ArrayList<>();
        for (String kind : o.stateNames()) {
            for (Traced.Binding b : params) {
                String name = b.name() + "." + kind;
                Var v = t.input(name, DType.FLOAT32, b.parameter().shape().dims());
                state.add(new OptimizerStep.State(name, b.name(), kind, b.parameter().shape(), v));
                in.add(v);
            }
        }
        Map<String, Attribute> attrs = new LinkedHashMap<>();
        for (Attribute a : attributes) {
            attrs.put(a.name(), a);
        }
        attrs.put("decay", Attribute.of("decay", decay));
        attrs.put("max_grad_norm", Attribute.of("max_grad_norm", (float) o.maxGradNorm()));
        Var norm = t.emit(opType, Node.TANDEM_DOMAIN, in, attrs,
                new Tracer.Out(DType.FLOAT32, Shape.scalar())).getFirst();
        t.output(norm);
        return new OptimizerStep(norm.value().producer(), lr, momentum, step, List.copyOf(state), norm);
    }

    static void checkCommon(String name, double lr, double weightDecay, double maxGradNorm) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException(name + ": learning rate must be finite and >= 0; got " + lr);
        }
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException(name + ": weight decay must be finite and >= 0; got " + weightDecay);
        }
        if (!(maxGradNorm >= 0)) {
            throw new IllegalArgumentException(name + ": max grad norm must be >= 0 (0 = off); got " + maxGradNorm);
        }
    }

    static void checkShapes(float[][] params, float[][] grads, float[][][] state, boolean[] decay, int states) {
        if (grads.length != params.length || state.length != params.length || decay.length != params.length) {
            throw new IllegalArgumentException("referenceStep: " + params.length + " parameters, " + grads.length
                    + " gradients, " + state.length + " states, " + decay.length + " decay flags");
        }
        for (int i = 0; i < params.length; i++) {
            if (grads[i].length != params[i].length || state[i].length != states) {
                throw new IllegalArgumentException("referenceStep: parameter " + i + " has " + params[i].length
                        + " elements, its gradient " + grads[i].length + ", and " + state[i].length + " of "
                        + states + " state arrays");
            }
            for (float[] s : state[i]) {
                if (s.length != params[i].length) {
                    throw new IllegalArgumentException("referenceStep: a state array of parameter " + i + " has "
                            + s.length + " elements, not " + params[i].length);
                }
            }
        }
    }
}
