package dev.tandem.train.engine;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.train.data.DataLoader;
import dev.tandem.train.data.Normalize;
import dev.tandem.train.data.Quickstart;
import dev.tandem.train.data.RandomHorizontalFlip;
import dev.tandem.train.data.Splits;
import dev.tandem.train.nn.CrossEntropyLoss;
import dev.tandem.train.nn.Module;
import dev.tandem.train.nn.Zoo;
import dev.tandem.train.optim.LrSchedule;
import dev.tandem.train.optim.Sgd;

/** Dev runner: trains fashionnet for one epoch on the Fashion-MNIST data and prints loss and accuracy. */
public final class StepSmoke {
    public static void main(String[] args) throws Exception {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        Splits data = Quickstart.data();
        try (ThreadPool pool = new ThreadPool(2); Module m = Zoo.create("fashionnet", 1, 28, 28, 10);
             OptimizerState st = new OptimizerState()) {
            m.resetParameters(1);
            var opt = Sgd.of(0.1).withMomentum(0.9).withNesterov(true).withWeightDecay(5e-4);
            try (StepGraph g = new StepGraph(m, 128, new int[] {1, 28, 28}, new CrossEntropyLoss()
                    .withLabelSmoothing(0.1), opt, st, pool);
                 DataLoader dl = DataLoader.builder(data.train()).batchSize(128).shuffle(true).dropLast(true).seed(1)
                         .workers(1).transforms(new RandomHorizontalFlip(0.5),
                                 new Normalize(new float[] {0.2860f}, new float[] {0.3530f})).build()) {
                System.out.println("arena " + g.arenaBytes());
                LrSchedule sched = LrSchedule.oneCycle(0.1, steps, 0.25);
                long t0 = System.nanoTime();
                long seen = 0, correct = 0;
                double lossSum = 0;
                int s = 0;
                try (var ep = dl.epoch(0)) {
                    while (ep.hasNext() && s < steps) {
                        var b = ep.next();
                        var r = g.run(b.data(), b.labels(), sched.lr(s), s + 1, s);
                        s++;
                        seen += b.size();
                        correct += r.correct();
                        lossSum += r.loss();
                        if (s % 10 == 0) {
                            double sec = (System.nanoTime() - t0) / 1e9;
                            System.out.printf("step %d loss %.4f acc %.3f norm %.3f  %.0f img/s%n", s, lossSum / 10,
                                    correct / (double) seen, r.gradNorm(), seen / sec);
                            lossSum = 0;
                        }
                    }
                }
            }
        }
    }
}
