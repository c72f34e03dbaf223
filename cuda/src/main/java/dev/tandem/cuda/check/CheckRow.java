package dev.tandem.cuda.check;

/**
 * One row of the GPU check's table.
 *
 * @param name what was checked
 * @param status PASS, FAIL or INFO (a measurement, never a failure)
 * @param millis wall time of the check
 * @param detail what was compared or measured
 */
public record CheckRow(String name, String status, long millis, String detail) {
    /** Whether this row fails the check. */
    public boolean failed() {
        return status.equals("FAIL");
    }
}
