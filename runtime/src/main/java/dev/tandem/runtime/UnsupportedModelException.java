package dev.tandem.runtime;

import java.util.List;

/**
 * A valid model that uses something Tandem does not execute: ops (all of them are listed at once, with node
 * names), data types or attribute values. Never raised for a model Tandem would run wrongly: what is not
 * supported says so.
 */
public class UnsupportedModelException extends ModelException {
    private final List<String> problems;

    public UnsupportedModelException(String message) {
        this(message, List.of(message));
    }

    public UnsupportedModelException(String message, List<String> problems) {
        super(message);
        this.problems = List.copyOf(problems);
    }

    /** One line per unsupported thing found. */
    public List<String> problems() {
        return problems;
    }
}
