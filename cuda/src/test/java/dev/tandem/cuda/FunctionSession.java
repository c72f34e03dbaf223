package dev.tandem.cuda;

import dev.tandem.runtime.backend.DevicePlan;
import dev.tandem.runtime.backend.DeviceSession;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.tensor.Tensor;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * A {@link DeviceSession} for tests that stands in for a GPU without device copies: attaching, uploading and
 * downloading do nothing, and each plan loaded runs through the function {@code loader} gives for it.
 */
public final class FunctionSession implements DeviceSession {
    private final String summary;
    private final Function<ExecutionPlan, UnaryOperator<Tensor[]>> loader;

    public FunctionSession(String summary, Function<ExecutionPlan, UnaryOperator<Tensor[]>> loader) {
        this.summary = summary;
        this.loader = loader;
    }

    @Override
    public String summary() {
        return summary;
    }

    @Override
    public void attach(Tensor host) {
    }

    @Override
    public void download() {
    }

    @Override
    public void upload() {
    }

    @Override
    public DevicePlan load(ExecutionPlan plan) {
        UnaryOperator<Tensor[]> run = loader.apply(plan);
        return new DevicePlan() {
            @Override
            public Tensor[] run(Tensor[] inputs) {
                return run.apply(inputs);
            }

            @Override
            public long deviceBytes() {
                return 0;
            }

            @Override
            public void close() {
            }
        };
    }

    @Override
    public long deviceBytes() {
        return 0;
    }

    @Override
    public void close() {
    }
}
