package dev.tandem.serve.client;

import dev.tandem.runtime.classify.Prediction;
import java.util.List;

/**
 * A classification and where it came from.
 *
 * @param predictions  the top classes, most probable first
 * @param source       which path answered
 * @param modelVersion the server's model version for a remote answer; for a local one, the version installed by the
 *                     {@link ModelUpdater} that answered, or null for a plain local classifier
 * @param remoteError  why the server could not answer, for {@link Source#LOCAL_FALLBACK}; else null
 */
public record Classification(List<Prediction> predictions, Source source, String modelVersion, String remoteError) {
    /** Which path answered a classification. */
    public enum Source {
        /** The local model, sure enough (top-1 probability at or above the threshold). */
        LOCAL,
        /** The server (the local model was unsure, or there is none). */
        REMOTE,
        /** The local model although unsure: the server could not be reached or refused. */
        LOCAL_FALLBACK
    }

    /** The most probable class. */
    public Prediction top() {
        return predictions.getFirst();
    }
}
