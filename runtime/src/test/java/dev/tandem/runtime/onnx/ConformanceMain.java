package dev.tandem.runtime.onnx;

import dev.tandem.runtime.exec.ThreadPool;
import java.nio.file.Path;

/** Dev helper: java ... ConformanceMain DIR [filter] prints each case's result. */
public final class ConformanceMain {
    public static void main(String[] args) throws Exception {
        try (ThreadPool pool = new ThreadPool(2)) {
            int[] c = new int[3];
            for (Path p : Conformance.cases(Path.of(args[0]))) {
                if (args.length > 1 && !p.getFileName().toString().matches(args[1])) {
                    continue;
                }
                Conformance.Result r = Conformance.run(p, pool);
                c[r.status().ordinal()]++;
                System.out.println(r);
            }
            System.out.println(c[0] + " passed, " + c[1] + " failed, " + c[2] + " unsupported");
        }
    }
}
