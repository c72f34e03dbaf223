package dev.tandem.serve.batch;

import dev.tandem.runtime.classify.Prediction;
import java.awt.image.BufferedImage;
import java.util.List;

/** One decoded image to classify, answered with its top {@code k} classes. */
public final class ClassifyJob extends Job<List<Prediction>> {
    private final BufferedImage image;
    private final int topK;

    public ClassifyJob(BufferedImage image, int topK, long deadlineNanos) {
        super(1, deadlineNanos);
        this.image = image;
        this.topK = topK;
    }

    public BufferedImage image() {
        return image;
    }

    public int topK() {
        return topK;
    }
}
