package dev.tandem.serve.repository;

import java.util.List;
import java.util.Map;

/**
 * What the repository knows of one model.
 *
 * @param name     the model's folder name
 * @param serving  the version answering requests, or null when none is loaded
 * @param pinned   the pinned version, or null (then the newest version that loads serves)
 * @param versions the version folders holding a model.onnx, ascending
 * @param failed   versions whose current file failed to load, with the reason
 */
public record ModelStatus(String name, Long serving, Long pinned, List<Long> versions, Map<Long, String> failed) {
}
