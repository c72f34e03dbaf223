package dev.tandem.train.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.train.nn.BatchNorm2d;
import dev.tandem.train.nn.Conv2d;
import dev.tandem.train.nn.CrossEntropyLoss;
import dev.tandem.train.nn.Flatten;
import dev.tandem.train.nn.Linear;
import dev.tandem.train.nn.MaxPool2d;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.ReLU;
import dev.tandem.train.nn.Sequential;
import dev.tandem.train.optim.Adam;
import dev.tandem.train.optim.Optimizer;
import dev.tandem.train.optim.Sgd;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A hand-built network (the README's) trained step by step on a task it can only solve by learning: which half
 * of an 8×8 image is brighter, under noise. Loss must fall and accuracy rise, with SGD and with Adam.
 */
class StepGraphTest {
    private static final int N = 32;

    private static void batch(Random rnd, float[] x, long[] y) {
        for (int i = 0; i < N; i++) {
            int cls = rnd.nextInt(2);
            y[i] = cls;
            for (int r = 0; r < 8; r++) {
                for (int c = 0; c < 8; c++) {
                    boolean bright = (c < 4) == (cls == 0);
                    x[i * 64 + r * 8 + c] = (float) ((bright ? 0.6 : -0.6) + rnd.nextGaussian());
                }
            }
        }
    }

    private static void trains(Optimizer opt, double lr) {
        try (Module net = new Sequential(new Conv2d(1, 8, 3, 1, 1, false), new BatchNorm2d(8), new ReLU(),
                new MaxPool2d(2), new Flatten(), new Linear(8 * 4 * 4, 2));
             ThreadPool pool = new ThreadPool(2); OptimizerState state = new OptimizerState();
             StepGraph step = new StepGraph(net, N, new int[] {1, 8, 8}, new CrossEntropyLoss(), opt, state, pool)) {
            net.resetParameters(42);
            Random rnd = new Random(7);
            float[] x = new float[N * 64];
            long[] y = new long[N];
            double firstLoss = 0, lastLoss = 0;
            long lastCorrect = 0;
            for (int s = 1; s <= 60; s++) {
                batch(rnd, x, y);
                StepGraph.Result r = step.run(x, y, lr, s, s);
                if (s <= 5) {
                    firstLoss += r.loss();
                }
                if (s > 50) {
                    lastLoss += r.loss();
                    lastCorrect += r.correct();
                }
                assertThat(r.gradNorm()).isFinite();
            }
            assertThat(lastLoss / 10).as(opt.toString()).isLessThan(firstLoss / 5 * 0.6);
            assertThat(lastCorrect / (10.0 * N)).as(opt.toString()).isGreaterThan(0.9);
            // Running statistics moved away from their initial 0 / 1.
            float[] rm = net.namedBuffers().values().iterator().next().toArray();
            assertThat(rm).isNotEqualTo(new float[rm.length]);
        }
    }

    @Test
    void sgdWithMomentumLearns() {
        trains(Sgd.of(0.05).withMomentum(0.9).withNesterov(true).withWeightDecay(1e-4), 0.05);
    }

    @Test
    void aStepWithBatchNormAndReluFusedTrainsBitForBitAsTheUnfusedStep() {
        try (Module a = net(); Module b = net(); ThreadPool pool = new ThreadPool(2);
             OptimizerState sa = new OptimizerState(); OptimizerState sb = new OptimizerState();
             StepGraph fused = new StepGraph(a, N, new int[] {1, 8, 8}, new CrossEntropyLoss(),
                     Sgd.of(0.05).withMomentum(0.9), sa, pool, null, true);
             StepGraph plain = new StepGraph(b, N, new int[] {1, 8, 8}, new CrossEntropyLoss(),
                     Sgd.of(0.05).withMomentum(0.9), sb, pool, null, false)) {
            assertThat(fused.count("Relu")).isZero();
            assertThat(fused.count("ActivationGrad")).isZero();
            assertThat(plain.count("Relu")).isEqualTo(1);
            assertThat(plain.count("ActivationGrad")).isEqualTo(1);
            Random rnd = new Random(3);
            float[] x = new float[N * 64];
            long[] y = new long[N];
            for (int s = 1; s <= 12; s++) {
                batch(rnd, x, y);
                StepGraph.Result rf = fused.run(x, y, 0.05, s, s);
                StepGraph.Result rp = plain.run(x, y, 0.05, s, s);
                assertThat(rf.loss()).as("step %d", s).isEqualTo(rp.loss());
                assertThat(rf.gradNorm()).as("step %d", s).isEqualTo(rp.gradNorm());
            }
            var pa = a.namedParameters();
            var pb = b.namedParameters();
            for (String name : pa.keySet()) {
                assertThat(pa.get(name).toArray()).as(name).containsExactly(pb.get(name).toArray());
            }
        }
    }

    private static Module net() {
        Module net = new Sequential(new Conv2d(1, 8, 3, 1, 1, false), new BatchNorm2d(8), new ReLU(),
                new MaxPool2d(2), new Flatten(), new Linear(8 * 4 * 4, 2));
        net.resetParameters(42);
        return net;
    }

    @Test
    void adamLearns() {
        trains(Adam.of(0.01), 0.01);
    }
}
