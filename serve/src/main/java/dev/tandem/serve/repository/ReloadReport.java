package dev.tandem.serve.repository;

import java.util.List;

/**
 * What one reload changed.
 *
 * @param events loads, unloads and failures, in the order they happened
 */
public record ReloadReport(List<Event> events) {
    /** What happened to one model version. */
    public enum Action {
        /** The version was loaded and now serves. */
        LOADED,
        /** The version stopped serving (replaced or removed); it closes once idle. */
        UNLOADED,
        /** The version's file failed to load; the version serving before (if any) still serves. */
        FAILED
    }

    /**
     * @param model   the model name
     * @param version the version
     * @param action  what happened
     * @param message details (the load error for {@link Action#FAILED})
     */
    public record Event(String model, long version, Action action, String message) {
    }

    /** The failures among the events. */
    public List<Event> failures() {
        return events.stream().filter(e -> e.action() == Action.FAILED).toList();
    }
}
