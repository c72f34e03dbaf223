package dev.tandem.cuda.exec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.cuda.check.OpParity;
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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What can be checked of the executor without a GPU: every op case of {@link OpParity} (which GpuCheck runs on a
 * GPU against the CPU backend) plans on the CPU and is claimed by {@link GpuOps}; what it does not claim is
 * refused with a reason before anything is allocated.
 */
class GpuOpsTest {
    @Test
    void everyParityCasePlansAndIsClaimed() {
        List<OpParity.Case> cases = OpParity.all();
        assertThat(cases).hasSizeGreaterThan(30);
        try (ThreadPool pool = new ThreadPool(1)) {
            for (OpParity.Case c : cases) {
                try (ExecutionPlan plan = plan(c, pool)) {
                    List<ExecutionPlan.PlannedStep> steps = plan.plannedSteps();
                    assertThat(steps).as(c.name()).isNotEmpty();
                    for (ExecutionPlan.PlannedStep st : steps) {
                        assertThat(GpuOps.whyUnsupported(st, plan.values())).as(c.name()).isNull();
                    }
                }
            }
        }
    }

    @Test
    void unsupportedStepsSayWhy() {
        try (ThreadPool pool = new ThreadPool(1)) {
            // Softmax has no GPU implementation; Add with broadcasting is refused by shape; a Conv with asymmetric pads.
            assertThat(why(pool, "Softmax", new Shape[] {Shape.of(2, 5)}, Map.of())).contains("Softmax");
            assertThat(why(pool, "Add", new Shape[] {Shape.of(2, 5), Shape.of(5)}, Map.of())).contains("broadcasting");
            assertThat(why(pool, "Conv", new Shape[] {Shape.of(1, 2, 6, 6), Shape.of(3, 2, 3, 3)},
                    Map.of("pads", Attribute.of("pads", new long[] {0, 0, 1, 1}), "kernel_shape",
                            Attribute.of("kernel_shape", new long[] {3, 3})))).contains("asymmetric");
        }
    }

    private static String why(ThreadPool pool, String type, Shape[] shapes, Map<String, Attribute> attrs) {
        Graph g = new Graph();
        g.opsets().put("", 17);
        List<Value> in = new ArrayList<>();
        for (int i = 0; i < shapes.length; i++) {
            Value v = g.value("x" + i);
            g.inputs().add(v);
            in.add(v);
        }
        Value y = g.value("y");
        g.add(new Node("n", type, "", in, List.of(y), new LinkedHashMap<>(attrs)));
        g.outputs().add(y);
        DType[] types = new DType[shapes.length];
        java.util.Arrays.fill(types, DType.FLOAT32);
        try (g; ExecutionPlan plan = ExecutionPlan.build(g, OpRegistry.standard(), new Sgemm(pool),
                new GreedyBySizePlanner(), types, shapes, null)) {
            return GpuOps.whyUnsupported(plan.plannedSteps().get(0), plan.values());
        }
    }

    private static ExecutionPlan plan(OpParity.Case c, ThreadPool pool) {
        List<DType> types = new ArrayList<>();
        List<Shape> shapes = new ArrayList<>();
        List<dev.tandem.runtime.tensor.Tensor> known = new ArrayList<>();
        for (int i = 0; i < c.inputs().length; i++) {
            if (c.inputs()[i] != null) {
                types.add(c.inputs()[i].dtype());
                shapes.add(c.inputs()[i].shape());
                known.add(c.known()[i] ? c.inputs()[i] : null);
            }
        }
        return ExecutionPlan.build(OpParity.graph(c), OpRegistry.standard(), new Sgemm(pool),
                new GreedyBySizePlanner(), types.toArray(DType[]::new), shapes.toArray(Shape[]::new),
                known.toArray(dev.tandem.runtime.tensor.Tensor[]::new));
    }
}
