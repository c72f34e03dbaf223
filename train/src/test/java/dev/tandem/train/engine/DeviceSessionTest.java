package dev.tandem.train.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.train.nn.CrossEntropyLoss;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.Zoo;
import dev.tandem.train.optim.Optimizer;
import dev.tandem.train.optim.Sgd;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * StepGraph and EvalGraph on a {@link DeviceSession} (the {@link HostDeviceSession} double, which keeps separate
 * device copies): the same losses, weights, optimizer state and logits as on the CPU, bit for bit, once the host
 * copies are downloaded; and stale host copies until then.
 */
class DeviceSessionTest {
    private static final int[] SHAPE = {1, 28, 28};

    /** What one run of a few steps produced. */
    private record Run(List<Double> losses, List<Long> correct, Map<String, float[]> weights,
                       Map<String, float[]> optimizer, float[] logits) {
    }

    private static Run train(HostDeviceSession device) {
        Optimizer opt = Sgd.of(0.05).withMomentum(0.9).withNesterov(true).withWeightDecay(5e-4);
        CrossEntropyLoss loss = new CrossEntropyLoss().withLabelSmoothing(0.1);
        Random rnd = new Random(3);
        List<Double> losses = new ArrayList<>();
        List<Long> correct = new ArrayList<>();
        try (ThreadPool pool = new ThreadPool(2);
             Module net = Zoo.create("fashionnet", 1, 28, 28, 10);
             OptimizerState state = new OptimizerState()) {
            net.resetParameters(11);
            Map<String, float[]> initial = net.stateDict();
            try (StepGraph big = new StepGraph(net, 8, SHAPE, loss, opt, state, pool, device);
                 StepGraph small = new StepGraph(net, 5, SHAPE, loss, opt, state, pool, device);
                 EvalGraph eval = new EvalGraph(net, 4, SHAPE, pool, device)) {
                assertThat(big.onDevice()).isEqualTo(device != null);
                for (int s = 1; s <= 4; s++) {
                    int n = s == 3 ? 5 : 8;
                    float[] x = new float[n * 28 * 28];
                    long[] y = new long[n];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) rnd.nextGaussian();
                    }
                    for (int i = 0; i < n; i++) {
                        y[i] = rnd.nextInt(10);
                    }
                    StepGraph.Result r = (n == 8 ? big : small).run(x, y, 0.05, 0.9, s, 100 + s);
                    losses.add(r.loss());
                    correct.add(r.correct());
                }
                float[] x = new float[4 * 28 * 28];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rnd.nextGaussian();
                }
                float[] logits = eval.logits(x);
                if (device != null) {
                    // The host copies are stale until downloaded: still the initial weights.
                    Map<String, float[]> stale = net.stateDict();
                    for (String k : initial.keySet()) {
                        assertThat(stale.get(k)).as(k).containsExactly(initial.get(k));
                    }
                    assertThatThrownBy(big::startProfile).isInstanceOf(UnsupportedOperationException.class);
                    device.download();
                }
                return new Run(losses, correct, net.stateDict(), state.toArrays(), logits);
            }
        }
    }

    @Test
    void aFewStepsOnTheDeviceDoubleMatchTheCpuBitForBit() {
        Run cpu = train(null);
        Run dev;
        try (HostDeviceSession device = new HostDeviceSession()) {
            dev = train(device);
            assertThat(device.loads()).isEqualTo(3);
            assertThat(device.runs()).isEqualTo(5);
        }
        assertThat(dev.losses()).containsExactlyElementsOf(cpu.losses());
        assertThat(dev.correct()).containsExactlyElementsOf(cpu.correct());
        assertThat(dev.logits()).containsExactly(cpu.logits());
        assertThat(dev.weights().keySet()).containsExactlyElementsOf(cpu.weights().keySet());
        for (String k : cpu.weights().keySet()) {
            assertThat(Arrays.equals(dev.weights().get(k), cpu.weights().get(k))).as(k).isTrue();
        }
        assertThat(dev.optimizer().keySet()).containsExactlyElementsOf(cpu.optimizer().keySet()).isNotEmpty();
        for (String k : cpu.optimizer().keySet()) {
            assertThat(Arrays.equals(dev.optimizer().get(k), cpu.optimizer().get(k))).as(k).isTrue();
        }
    }
}
