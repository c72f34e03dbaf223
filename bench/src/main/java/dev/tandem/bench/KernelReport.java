package dev.tandem.bench;

import dev.tandem.runtime.kernels.Simd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the kernel benchmarks through JMH and prints each figure in GFLOP/s and as a fraction of the FMA peak
 * measured in the same run (on 1 and on T threads), as a Markdown table.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.tandem.bench.KernelReport \
 *      [--quick] [--threads 1,2] [--only peak,square,resnet-gemm,resnet-conv] [--markdown FILE]
 * </pre>
 */
public final class KernelReport {
    private static final List<String> SQUARE = List.of("64x64x64", "128x128x128", "256x256x256", "512x512x512",
            "1024x1024x1024", "2048x2048x2048");

    private KernelReport() {
    }

    public static void main(String[] args) throws RunnerException, IOException {
        boolean quick = false;
        List<Integer> threads = List.of(1, 2);
        List<String> only = List.of("peak", "square", "resnet-gemm", "resnet-conv");
        Path markdown = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--threads" -> threads = Arrays.stream(args[++i].split(",")).map(Integer::parseInt).toList();
                case "--only" -> only = List.of(args[++i].split(","));
                case "--markdown" -> markdown = Path.of(args[++i]);
                default -> {
                    System.err.println("Unknown option " + args[i]
                            + "; use --quick, --threads 1,2, --only peak,square,resnet-gemm,resnet-conv, --markdown FILE");
                    System.exit(2);
                }
            }
        }
        StringBuilder md = new StringBuilder();
        String machine = Runtime.getRuntime().availableProcessors() + " CPUs, " + System.getProperty("os.arch")
                + ", Java " + Runtime.version() + ", " + Simd.bits() + "-bit vectors";
        md.append("Kernel benchmarks, ").append(LocalDate.now()).append(", ").append(machine).append("\n\n");

        // The peak is measured before and after the kernels and the higher figure used: on a shared machine a
        // neighbour can slow a whole stretch of the run, and a low peak would flatter the fractions.
        Map<Integer, Double> before = peaks(quick, threads);
        StringBuilder body = new StringBuilder();

        Map<String, Map<String, double[]>> results = new LinkedHashMap<>();
        if (only.contains("square")) {
            results.put("square", measure(quick, threads, SQUARE, Kind.SGEMM));
        }
        if (only.contains("resnet-gemm")) {
            List<String> shapes = ResNet18Convs.LAYERS.stream().map(l -> l.m() + "x" + l.n() + "x" + l.k()).toList();
            results.put("resnet-gemm", measure(quick, threads, shapes, Kind.SGEMM_PACKED));
        }
        if (only.contains("resnet-conv")) {
            List<String> layers = ResNet18Convs.LAYERS.stream().map(ResNet18Convs.Layer::name).toList();
            results.put("resnet-conv", measure(quick, threads, layers, Kind.CONV));
        }
        Map<Integer, Double> after = peaks(quick, threads);
        Map<Integer, Double> peak = new LinkedHashMap<>();
        md.append("| threads | FMA peak GFLOP/s, before | after | used |\n|---|---|---|---|\n");
        for (int t : threads) {
            peak.put(t, Math.max(before.get(t), after.get(t)));
            md.append("| ").append(t).append(" | ").append(fmt(before.get(t))).append(" | ")
                    .append(fmt(after.get(t))).append(" | ").append(fmt(peak.get(t))).append(" |\n");
        }
        md.append('\n');
        if (results.containsKey("square")) {
            table(md, "SGEMM, square (A packed in the call)", "M×N×K", threads, peak, results.get("square"), null);
        }
        if (results.containsKey("resnet-gemm")) {
            table(md, "SGEMM, ResNet-18 convolution shapes at batch 1 (A = weights, packed beforehand)", "M×N×K",
                    threads, peak, results.get("resnet-gemm"), null);
        }
        if (results.containsKey("resnet-conv")) {
            table(md, "Conv2d (bias + ReLU fused), ResNet-18 layers at batch 1", "layer", threads, peak,
                    results.get("resnet-conv"), ResNet18Convs.LAYERS);
        }
        md.append(body);
        System.out.println();
        System.out.println(md);
        if (markdown != null) {
            Files.writeString(markdown, md);
        }
    }

    private enum Kind { SGEMM, SGEMM_PACKED, CONV }

    private static Map<Integer, Double> peaks(boolean quick, List<Integer> threads) throws RunnerException {
        Map<Integer, Double> peak = new LinkedHashMap<>();
        for (int t : threads) {
            RunResult r = single(options(quick, t).include(FmaPeak.class.getName() + ".fma").threads(t));
            peak.put(t, r.getPrimaryResult().getScore());
        }
        return peak;
    }

    /** GFLOP/s per parameter and thread count. */
    private static Map<String, double[]> measure(boolean quick, List<Integer> threads, List<String> params,
                                                 Kind kind) throws RunnerException {
        Map<String, double[]> rows = new LinkedHashMap<>();
        for (String p : params) {
            double[] g = new double[threads.size()];
            for (int ti = 0; ti < threads.size(); ti++) {
                ChainedOptionsBuilder o = options(quick, 1).param("threads", String.valueOf(threads.get(ti)));
                double flops;
                if (kind == Kind.CONV) {
                    o.include(ConvBench.class.getName() + ".conv").param("layer", p);
                    flops = ResNet18Convs.byName(p).flops();
                } else {
                    o.include(SgemmBench.class.getName() + ".sgemm").param("shape", p)
                            .param("packedA", String.valueOf(kind == Kind.SGEMM_PACKED));
                    int[] s = SgemmBench.parse(p);
                    flops = 2.0 * s[0] * s[1] * s[2];
                }
                // the median of per-call samples: robust to the stalls a shared machine adds to some calls
                double micros = single(o).getPrimaryResult().getStatistics().getPercentile(50);
                g[ti] = flops / (micros * 1e3);
            }
            rows.put(p, g);
        }
        return rows;
    }

    private static void table(StringBuilder md, String title, String what, List<Integer> threads,
                              Map<Integer, Double> peak, Map<String, double[]> rows, List<ResNet18Convs.Layer> layers) {
        md.append("**").append(title).append("**\n\n| ").append(what);
        for (int t : threads) {
            md.append(" | ").append(t).append("T GFLOP/s | ").append(t).append("T % of peak");
        }
        md.append(" |\n|---");
        md.append("|---|---".repeat(threads.size())).append("|\n");
        rows.forEach((p, g) -> {
            md.append("| ").append(p);
            for (int ti = 0; ti < g.length; ti++) {
                md.append(" | ").append(fmt(g[ti])).append(" | ").append(pct(g[ti], peak.get(threads.get(ti))));
            }
            md.append(" |\n");
        });
        if (layers != null) {
            // all 3×3 convolutions of the network, each weighted by how often it occurs: total FLOPs / total time
            md.append("| **all 3×3 convs (time-weighted)**");
            for (int ti = 0; ti < threads.size(); ti++) {
                double flops = 0, seconds = 0;
                for (ResNet18Convs.Layer l : layers) {
                    if (l.kernel() == 3) {
                        flops += l.count() * l.flops();
                        seconds += l.count() * l.flops() / (rows.get(l.name())[ti] * 1e9);
                    }
                }
                double g = flops / seconds / 1e9;
                md.append(" | **").append(fmt(g)).append("** | **").append(pct(g, peak.get(threads.get(ti))))
                        .append("**");
            }
            md.append(" |\n");
        }
        md.append('\n');
    }

    private static ChainedOptionsBuilder options(boolean quick, int jmhThreads) {
        // Warm-up is long on purpose: until C2 compiles the kernels the Vector API runs its Java fallback,
        // thousands of times slower, so a short warm-up may see only a handful of calls.
        return new OptionsBuilder().forks(1).threads(jmhThreads)
                .warmupIterations(quick ? 3 : 5).warmupTime(TimeValue.seconds(1))
                .measurementIterations(quick ? 3 : 5).measurementTime(TimeValue.milliseconds(quick ? 500 : 1000))
                .shouldDoGC(true);
    }

    private static RunResult single(ChainedOptionsBuilder o) throws RunnerException {
        Collection<RunResult> r = new Runner(o.build()).run();
        return new ArrayList<>(r).getFirst();
    }

    private static String fmt(double g) {
        return String.format("%.1f", g);
    }

    private static String pct(double g, double peak) {
        return String.format("%.0f%%", 100 * g / peak);
    }
}
