package dev.tandem.train.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.train.nn.CrossEntropyLoss;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.Zoo;
import dev.tandem.train.optim.Sgd;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** DeviceParity runs on a GPU machine (scripts/gpu-check.sh); without the CUDA backend it says so and exits 3. */
class DeviceParityTest {
    @Test
    void withoutTheCudaBackendItExitsThreeSayingWhy() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int code = DeviceParity.run(new String[] {"fashionnet"}, new PrintStream(buf, true, StandardCharsets.UTF_8));
        assertThat(code).isEqualTo(3);
        assertThat(buf.toString(StandardCharsets.UTF_8)).startsWith("no GPU: no CUDA backend on the class path");
    }

    @Test
    void badArgumentsSayWhatIsWrong() {
        for (String[] args : new String[][] {{"--steps"}, {"--steps", "x"}, {"--batch", "1"}, {"vgg16"}}) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            int code = DeviceParity.run(args, new PrintStream(buf, true, StandardCharsets.UTF_8));
            assertThat(code).as(String.join(" ", args)).isEqualTo(2);
            assertThat(buf.toString(StandardCharsets.UTF_8)).startsWith("DeviceParity: ").contains("usage:");
        }
    }

    @Test
    void aTensorPassesWithinTheFixedBoundOrTenTimesItsNudgedDifference() {
        Map<String, float[]> cpu = Map.of("w", new float[] {1, -2, 0.5f});
        Map<String, float[]> near = Map.of("w", new float[] {1, -2.0001f, 0.5f});     // 5e-5 of max |w| = 2
        Map<String, float[]> off = Map.of("w", new float[] {1, -2.01f, 0.5f});        // 5e-3
        Map<String, float[]> nan = Map.of("w", new float[] {1, Float.NaN, 0.5f});
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThat(DeviceParity.close("t", cpu, near, 1e-4, Map.of(), quiet)).isTrue();
        assertThat(DeviceParity.close("t", cpu, off, 1e-4, Map.of(), quiet)).isFalse();
        // An ill-conditioned tensor: nudged inputs moved it by 1e-3, so 5e-3 is within ten times that.
        assertThat(DeviceParity.close("t", cpu, off, 1e-4, Map.of("w", 1e-3), quiet)).isTrue();
        assertThat(DeviceParity.close("t", cpu, off, 1e-4, Map.of("w", 1e-4), quiet)).isFalse();
        assertThat(DeviceParity.close("t", cpu, nan, 1e-4, Map.of("w", 1e9), quiet)).isFalse();
        assertThat(DeviceParity.close("t", cpu, Map.of("v", new float[3]), 1e-4, Map.of(), quiet)).isFalse();
    }

    /**
     * The nudge is what the GPU's tolerance scales with, so it must move a training step by rounding-sized amounts:
     * not zero (or every tolerance would be the fixed one) and not more than a wrong op would (or nothing would
     * fail). On the CPU, one MobileNet step as DeviceParity runs it.
     */
    @Test
    void nudgedInputsMoveAStepByRoundingSizedAmounts() {
        int[] shape = {3, 32, 32};
        int batch = 8;
        SplittableRandom r = new SplittableRandom(42);
        float[] data = new float[batch * 3 * 32 * 32];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) r.nextGaussian();
        }
        long[] labels = new long[batch];
        for (int i = 0; i < batch; i++) {
            labels[i] = r.nextInt(10);
        }
        float[] nudged = DeviceParity.nudge(data, new SplittableRandom(43));
        double worstInput = 0;
        for (int i = 0; i < data.length; i++) {
            worstInput = Math.max(worstInput, Math.abs(nudged[i] - data[i]) / Math.abs(data[i]));
        }
        assertThat(worstInput).isGreaterThan(0).isLessThanOrEqualTo(0x1p-20 + 0x1p-23); // the nudge plus float rounding
        Sgd opt = new Sgd(0.05, 0.9, true, 5e-4, 0, false);
        CrossEntropyLoss loss = new CrossEntropyLoss().withLabelSmoothing(0.1);
        try (ThreadPool pool = new ThreadPool(2);
             Module a = Zoo.create("mobilenet", 3, 32, 32, 10); Module b = Zoo.create("mobilenet", 3, 32, 32, 10);
             OptimizerState sa = new OptimizerState(); OptimizerState sb = new OptimizerState()) {
            a.resetParameters(7);
            b.resetParameters(7);
            try (StepGraph ga = new StepGraph(a, batch, shape, loss, opt, sa, pool);
                 StepGraph gb = new StepGraph(b, batch, shape, loss, opt, sb, pool)) {
                StepGraph.Result x = ga.run(data, labels, 0.05, 1, 1001);
                StepGraph.Result y = gb.run(nudged, labels, 0.05, 1, 1001);
                double dl = DeviceParity.relative(x.loss(), y.loss());
                double dn = DeviceParity.relative(x.gradNorm(), y.gradNorm());
                Map<String, Double> d = DeviceParity.differences(a.stateDict(), b.stateDict());
                System.out.printf("nudged: loss %.1e, grad norm %.1e, worst tensor %.1e%n", dl, dn,
                        d.values().stream().mapToDouble(Double::doubleValue).max().orElseThrow());
                assertThat(dl).isLessThan(1e-4);
                assertThat(dn).isGreaterThan(0).isLessThan(1e-3);
                assertThat(d).hasSameSizeAs(a.stateDict());
                // About 3e-3 here: batch norm's statistics over small planes amplify; a wrong op moves them by O(1).
                assertThat(d.values().stream().mapToDouble(Double::doubleValue).max().orElseThrow())
                        .isGreaterThan(0).isLessThan(0.05);
            }
        }
    }

    /**
     * The whole comparison, with a second CPU copy standing in for the device. Fed its own rounding-sized nudge (one
     * that flips a ReLU whose input sits at 0 in resnet8's layer2.0, as the H200 run did: 1.9e-2 on one channel's
     * gradient), it passes; fed a batch whose last image is zeros, as a kernel that misses a tail would make it, it
     * fails.
     */
    @Test
    void roundingSizedDifferencesPassAndAWrongStepFails() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        try (ThreadPool pool = new ThreadPool(2)) {
            boolean rounding = DeviceParity.compare("resnet8", 2, 32, null, pool, out,
                    x -> DeviceParity.nudge(x, new SplittableRandom(51)));
            assertThat(rounding).as(buf.toString(StandardCharsets.UTF_8)).isTrue();
            assertThat(buf.toString(StandardCharsets.UTF_8)).contains("[PASS] resnet8 optimizer state after step 1");
            buf.reset();
            // A kernel that leaves the batch's last image out (zeros there), as a tail bug would.
            boolean wrong = DeviceParity.compare("resnet8", 2, 32, null, pool, out, x -> {
                float[] y = x.clone();
                java.util.Arrays.fill(y, y.length - 3 * 32 * 32, y.length, 0f);
                return y;
            });
            assertThat(wrong).isFalse();
            assertThat(buf.toString(StandardCharsets.UTF_8)).contains("[FAIL] resnet8 evaluation logits")
                    .contains("[FAIL] resnet8 step 1").contains("[FAIL] resnet8 optimizer state after step 1");
        }
    }
}
