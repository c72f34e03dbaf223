package dev.tandem.cuda.exec;

import dev.tandem.cuda.FunctionSession;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.tensor.Tensor;
import dev.tandem.train.engine.EvalGraph;
import dev.tandem.train.engine.OptimizerState;
import dev.tandem.train.engine.StepGraph;
import dev.tandem.train.nn.CrossEntropyLoss;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.Zoo;
import dev.tandem.train.optim.Adam;
import dev.tandem.train.optim.Optimizer;
import dev.tandem.train.optim.Sgd;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Without a GPU: the executor claims every step of every zoo model's training graph (SGD and Adam) and evaluation
 * graph, as the trainer plans them. A session that only records the plans it is given stands in for the GPU.
 */
class ZooGraphsTest {
    @ParameterizedTest
    @CsvSource({"fashionnet, 1, 28, 28, 64", "resnet8, 3, 32, 32, 16", "resnet20, 3, 32, 32, 8",
        "resnet18, 3, 32, 32, 8", "mobilenet, 3, 32, 32, 8"})
    void everyStepOfTheZoosGraphsRunsOnTheGpu(String arch, int c, int h, int w, int batch) {
        int[] shape = {c, h, w};
        for (Optimizer opt : List.<Optimizer>of(new Sgd(0.1, 0.9, true, 5e-4, 1.0, false),
                new Adam(1e-3, 0.9, 0.999, 1e-8, 0, 0, false))) {
            List<ExecutionPlan> plans = new ArrayList<>();
            FunctionSession rec = new FunctionSession("recorder", plan -> {
                plans.add(plan);
                return in -> {
                    throw new UnsupportedOperationException("recorder");
                };
            });
            try (ThreadPool pool = new ThreadPool(1); Module m = Zoo.create(arch, c, h, w, 10);
                 OptimizerState state = new OptimizerState();
                 StepGraph step = new StepGraph(m, batch, shape, new CrossEntropyLoss().withLabelSmoothing(0.1), opt,
                         state, pool, rec);
                 EvalGraph eval = new EvalGraph(m, batch, shape, pool, rec)) {
                assertThat(plans).hasSize(2);
                for (ExecutionPlan plan : plans) {
                    List<String> refused = new ArrayList<>();
                    for (ExecutionPlan.PlannedStep st : plan.plannedSteps()) {
                        String why = GpuOps.whyUnsupported(st, plan.values());
                        if (why != null) {
                            refused.add(st.node().opType() + " " + st.node().name() + ": " + why);
                        }
                    }
                    assertThat(refused).as(arch + " with " + opt).isEmpty();
                }
            }
        }
    }
}
