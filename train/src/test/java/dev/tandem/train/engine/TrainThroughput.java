package dev.tandem.train.engine;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.train.data.Batch;
import dev.tandem.train.data.DataLoader;
import dev.tandem.train.data.Normalize;
import dev.tandem.train.data.Quickstart;
import dev.tandem.train.data.RandomHorizontalFlip;
import dev.tandem.train.data.Splits;
import dev.tandem.train.nn.CrossEntropyLoss;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.Zoo;
import dev.tandem.train.optim.Sgd;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Benchmark main (not a test): the training-step throughput of FashionNet (batch 128, SGD Nesterov momentum 0.9,
 * weight decay 5e-4, label smoothing 0.1, BN, dropout) on a pool of {@code threads} threads, as in
 * {@code docs/benchmarks.md} "Training throughput". The batches are loaded and transformed before the clock starts
 * (32 distinct batches, cycled; {@code -Dbatches=469} for a whole epoch's), so this times the step graph alone. Prints the images/s of each repetition, their
 * median, the process CPU time per step (a figure less hurt by other work on a shared machine; spinning pool threads
 * count), the per-op profile of one more repetition, and a JSON line.
 *
 * <p>Arguments: {@code [steps per repetition (30)] [repetitions (5)] [threads (2)] [warm-up steps (30)]}.
 */
public final class TrainThroughput {
    public static void main(String[] args) throws Exception {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        int warm = args.length > 3 ? Integer.parseInt(args[3]) : 30;
        int batch = 128;
        Splits data = Quickstart.data();
        List<float[]> images = new ArrayList<>();
        List<long[]> labels = new ArrayList<>();
        try (DataLoader dl = DataLoader.builder(data.train()).batchSize(batch).shuffle(true).dropLast(true).seed(1)
                .workers(1).transforms(new RandomHorizontalFlip(0.5),
                        new Normalize(new float[] {0.2860f}, new float[] {0.3530f})).build();
             var ep = dl.epoch(0)) {
            while (ep.hasNext() && images.size() < Integer.getInteger("batches", 32)) {
                Batch b = ep.next();
                images.add(b.data().clone());
                labels.add(b.labels().clone());
            }
        }
        try (ThreadPool pool = new ThreadPool(threads); Module m = Zoo.create("fashionnet", 1, 28, 28, 10);
             OptimizerState st = new OptimizerState()) {
            m.resetParameters(1);
            var opt = Sgd.of(0.01).withMomentum(0.9).withNesterov(true).withWeightDecay(5e-4);
            try (StepGraph g = new StepGraph(m, batch, new int[] {1, 28, 28},
                    new CrossEntropyLoss().withLabelSmoothing(0.1), opt, st, pool)) {
                int s = 0;
                double loss = 0;
                for (int i = 0; i < warm; i++, s++) {
                    loss = step(g, images, labels, s).loss();
                }
                double[] rate = new double[reps];
                double[] cpu = new double[reps];
                var os = (com.sun.management.OperatingSystemMXBean)
                        java.lang.management.ManagementFactory.getOperatingSystemMXBean();
                for (int r = 0; r < reps; r++) {
                    long c0 = os.getProcessCpuTime();
                    long t0 = System.nanoTime();
                    for (int i = 0; i < steps; i++, s++) {
                        loss = step(g, images, labels, s).loss();
                    }
                    rate[r] = (double) steps * batch / ((System.nanoTime() - t0) / 1e9);
                    cpu[r] = (os.getProcessCpuTime() - c0) / 1e6 / steps;
                    System.out.printf("repetition %d: %.1f images/s, %.1f ms CPU per step (loss %.4f)%n", r + 1,
                            rate[r], cpu[r], loss);
                }
                double[] sorted = rate.clone();
                Arrays.sort(sorted);
                double median = sorted[reps / 2];
                double[] cpuSorted = cpu.clone();
                Arrays.sort(cpuSorted);
                double cpuMedian = cpuSorted[reps / 2];
                g.startProfile();
                for (int i = 0; i < steps; i++, s++) {
                    step(g, images, labels, s);
                }
                System.out.print(g.profile(15));
                System.out.printf("median %.1f images/s (%.1f ms per step of %d), %.1f ms CPU per step, arena %.1f "
                        + "MiB%n", median, batch * 1000.0 / median, batch, cpuMedian, g.arenaBytes() / 1048576.0);
                System.out.printf("{\"framework\":\"tandem\",\"threads\":%d,\"batch\":%d,\"steps\":%d,"
                        + "\"repetitions\":%d,\"images_per_s\":%.1f,\"cpu_ms_per_step\":%.1f,\"loss\":%.4f}%n",
                        threads, batch, steps, reps, median, cpuMedian, loss);
            }
        }
    }

    private static StepGraph.Result step(StepGraph g, List<float[]> images, List<long[]> labels, int s) {
        int i = s % images.size();
        return g.run(images.get(i), labels.get(i), 0.01, s + 1, s);
    }
}
