package dev.tandem.train.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The Module API: numerics of a hand-built net, names, state dicts, initialisation, lifecycle. */
class ModuleTest {
    /** Conv(2→3, 3×3, pad 1, stride 1, bias) → BN(3) → ReLU → Flatten → Linear(48→5) on [2, 2, 4, 4]. */
    private static Sequential small() {
        return new Sequential(new Conv2d(2, 3, 3, 1, 1, true), new BatchNorm2d(3, 1e-3, 0.1), new ReLU(),
                new Flatten(), new Linear(48, 5));
    }

    @Test
    void evalOutputMatchesADirectComputation() {
        try (Sequential m = small()) {
            Random r = new Random(7);
            for (Parameter p : m.parameters()) {
                p.copyFrom(Plans.random(r, (int) p.size()));
            }
            m.namedBuffers().get("1.running_mean").copyFrom(Plans.random(r, 3));
            float[] var = m.namedBuffers().get("1.running_var").toArray();
            for (int i = 0; i < var.length; i++) {
                var[i] = Math.abs(var[i]) + 0.5f;
            }
            m.namedBuffers().get("1.running_var").copyFrom(var);
            float[] x = Plans.random(r, 2 * 2 * 4 * 4);
            float[] got = Plans.runEval(m, x, 2, 2, 4, 4);

            Map<String, float[]> s = m.stateDict();
            float[] w = s.get("0.weight"), b = s.get("0.bias"), g = s.get("1.weight"), beta = s.get("1.bias");
            float[] mean = s.get("1.running_mean"), rv = s.get("1.running_var");
            float[] lw = s.get("4.weight"), lb = s.get("4.bias");
            double[] want = new double[2 * 5];
            for (int n = 0; n < 2; n++) {
                double[] feat = new double[48];
                for (int o = 0; o < 3; o++) {
                    for (int i = 0; i < 4; i++) {
                        for (int j = 0; j < 4; j++) {
                            double acc = b[o];
                            for (int c = 0; c < 2; c++) {
                                for (int ki = 0; ki < 3; ki++) {
                                    for (int kj = 0; kj < 3; kj++) {
                                        int y = i + ki - 1, xx = j + kj - 1;
                                        if (y >= 0 && y < 4 && xx >= 0 && xx < 4) {
                                            acc += w[((o * 2 + c) * 3 + ki) * 3 + kj] * x[((n * 2 + c) * 4 + y) * 4 + xx];
                                        }
                                    }
                                }
                            }
                            double bn = (acc - mean[o]) / Math.sqrt(rv[o] + 1e-3) * g[o] + beta[o];
                            feat[(o * 4 + i) * 4 + j] = Math.max(0, bn);
                        }
                    }
                }
                for (int k = 0; k < 5; k++) {
                    double acc = lb[k];
                    for (int f = 0; f < 48; f++) {
                        acc += lw[k * 48 + f] * feat[f];
                    }
                    want[n * 5 + k] = acc;
                }
            }
            assertThat(got).hasSize(10);
            for (int i = 0; i < 10; i++) {
                assertThat((double) got[i]).isCloseTo(want[i], within(1e-4 * (1 + Math.abs(want[i]))));
            }
        }
    }

    @Test
    void stateDictRoundTrips() {
        try (Module a = Zoo.create("resnet8", 3, 16, 16, 4); Module b = Zoo.create("resnet8", 3, 16, 16, 4)) {
            a.resetParameters(1);
            b.resetParameters(2);
            Map<String, float[]> sa = a.stateDict();
            assertThat(sa.keySet()).startsWith("conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean",
                    "bn1.running_var", "layer1.0.conv1.weight");
            assertThat(sa).hasSize(a.namedParameters().size() + a.namedBuffers().size());
            b.loadStateDict(sa, true);
            Map<String, float[]> sb = b.stateDict();
            assertThat(sb.keySet()).containsExactlyElementsOf(sa.keySet());
            sa.forEach((k, v) -> assertThat(sb.get(k)).as(k).isEqualTo(v));
            float[] x = Plans.random(new Random(3), 2 * 3 * 16 * 16);
            assertThat(Plans.runEval(b, x, 2, 3, 16, 16)).containsExactly(Plans.runEval(a, x, 2, 3, 16, 16));
            // The dict is a copy: changing it changes nothing.
            sa.get("conv1.weight")[0] += 1;
            assertThat(a.stateDict().get("conv1.weight")[0]).isEqualTo(sb.get("conv1.weight")[0]);
        }
    }

    @Test
    void loadStateDictReportsEveryProblemAndChangesNothing() {
        try (Sequential m = small()) {
            m.resetParameters(5);
            Map<String, float[]> before = m.stateDict();
            Map<String, float[]> bad = new LinkedHashMap<>(before);
            bad.remove("0.bias");
            bad.put("2.weight", new float[3]);
            bad.put("4.weight", new float[7]);
            bad.put("1.num_batches_tracked", new float[1]);
            bad.put("0.weight", new float[54]);
            assertThatThrownBy(() -> m.loadStateDict(bad, true))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("missing keys: [0.bias]")
                    .hasMessageContaining("unexpected keys: [2.weight]")
                    .hasMessageContaining("size mismatch for '4.weight': 7 values, the module's is [5, 48] (240)")
                    .hasMessageNotContaining("num_batches_tracked");
            assertThat(m.stateDict().get("0.weight")).containsExactly(before.get("0.weight"));
            // Non-strict: missing and unexpected keys are skipped, but sizes still count.
            assertThatThrownBy(() -> m.loadStateDict(bad, false)).hasMessageContaining("size mismatch")
                    .hasMessageNotContaining("missing");
            bad.put("4.weight", new float[240]);
            m.loadStateDict(bad, false);
            assertThat(m.stateDict().get("0.weight")).containsOnly(0f);
            assertThat(m.stateDict().get("0.bias")).containsExactly(before.get("0.bias"));
        }
    }

    @Test
    void resetParametersIsDeterministicWithPyTorchBounds() {
        try (Module a = Zoo.create("fashionnet", 1, 28, 28, 10); Module b = Zoo.create("fashionnet", 1, 28, 28, 10)) {
            a.resetParameters(42);
            b.resetParameters(42);
            Map<String, float[]> sa = a.stateDict(), sb = b.stateDict();
            sa.forEach((k, v) -> assertThat(sb.get(k)).as(k).isEqualTo(v));
            b.resetParameters(43);
            assertThat(b.stateDict().get("features.0.weight")).isNotEqualTo(sa.get("features.0.weight"));

            checkUniform(sa.get("features.0.weight"), 1 / Math.sqrt(9));
            checkUniform(sa.get("features.3.weight"), 1 / Math.sqrt(32 * 9));
            checkUniform(sa.get("classifier.1.weight"), 1 / Math.sqrt(3136));
            checkUniform(sa.get("classifier.1.bias"), 1 / Math.sqrt(3136));
            checkUniform(sa.get("classifier.3.bias"), 1 / Math.sqrt(128));
            assertThat(sa.get("features.1.weight")).containsOnly(1f);
            assertThat(sa.get("features.1.bias")).containsOnly(0f);
            assertThat(sa.get("features.1.running_mean")).containsOnly(0f);
            assertThat(sa.get("features.1.running_var")).containsOnly(1f);
        }
        // Grouped convolution: fan-in counts the channels of one group.
        try (Conv2d dw = new Conv2d(8, 8, 3, 1, 1, 1, 8, true)) {
            dw.resetParameters(1);
            checkUniform(dw.weight().toArray(), 1 / 3.0);
        }
    }

    private static void checkUniform(float[] v, double bound) {
        double max = 0, sum = 0;
        for (float f : v) {
            max = Math.max(max, Math.abs(f));
            sum += f;
        }
        assertThat(max).isLessThanOrEqualTo((float) bound);
        if (v.length >= 100) {
            assertThat(max).isGreaterThan(0.9 * bound);
            assertThat(Math.abs(sum / v.length)).isLessThan(0.2 * bound);
        }
    }

    @Test
    void namesTrainFlagAndLifecycle() {
        Sequential m = small();
        assertThat(m.namedParameters().keySet()).containsExactly("0.weight", "0.bias", "1.weight", "1.bias",
                "4.weight", "4.bias");
        assertThat(m.namedBuffers().keySet()).containsExactly("1.running_mean", "1.running_var");
        assertThat(m.parameterCount()).isEqualTo(54 + 3 + 6 + 240 + 5);
        assertThat(m.isTraining()).isTrue();
        m.eval();
        assertThat(m.namedModules().values()).allMatch(x -> !x.isTraining());
        m.get(1).train();
        assertThat(m.get(1).isTraining()).isTrue();
        assertThat(m.isTraining()).isFalse();
        assertThat(m.toString()).contains("(0): Conv2d(2, 3, kernel_size=3, stride=1, padding=1)")
                .contains("(4): Linear(in_features=48, out_features=5, bias=True)");
        Parameter w = m.namedParameters().get("0.weight");
        m.close();
        m.close();
        assertThat(w.isClosed()).isTrue();
        assertThatThrownBy(w::toArray).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> m.resetParameters(1)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void layerArgumentsAreChecked() {
        assertThatThrownBy(() -> new AdaptiveAvgPool2d(2)).hasMessageContaining("output size 1 only");
        assertThatThrownBy(() -> new Conv2d(6, 4, 3, 1, 1, 1, 4, true)).hasMessageContaining("multiples of groups");
        assertThatThrownBy(() -> new Dropout(1)).hasMessageContaining("[0, 1)");
        assertThatThrownBy(() -> new Sequential().add("a.b", new ReLU())).hasMessageContaining("no '.'");
        try (Sequential s = new Sequential(new ReLU())) {
            assertThatThrownBy(() -> s.add("0", new ReLU())).hasMessageContaining("already registered");
        }
    }
}
