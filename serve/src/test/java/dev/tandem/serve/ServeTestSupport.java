package dev.tandem.serve;

import java.nio.file.Path;

/** {@link TestRepo} for tests in other packages. */
public final class ServeTestSupport {
    private ServeTestSupport() {
    }

    /** A classifier answering class {@code winner} for every image, as {@code root/name/version/model.onnx}. */
    public static Path writeClassifier(Path root, String name, long version, int winner) {
        return TestRepo.write(root, name, version, TestRepo.classifier(winner));
    }

    /** A classifier whose scores are NaN: it loads and runs, but no smoke test should let it in. */
    public static Path writeNanClassifier(Path root, String name, long version) {
        return TestRepo.write(root, name, version, TestRepo.classifier(1, Float.NaN));
    }

    /** Drops bytes that are no ONNX model as {@code root/name/version/model.onnx}. */
    public static Path writeCorrupt(Path root, String name, long version) {
        return TestRepo.writeCorrupt(root, name, version);
    }

    /** x int64[batch,3] + [1,2,3], as {@code root/name/version/model.onnx}. */
    public static Path writeAdder(Path root, String name, long version) {
        return TestRepo.write(root, name, version, TestRepo.adder());
    }

    /** A grey PNG of the given size. */
    public static byte[] png(int w, int h, int gray) {
        return TestRepo.png(w, h, gray);
    }

    /** A small PNG. */
    public static byte[] png() {
        return TestRepo.png(28, 28, 50);
    }
}
