package dev.tandem.cuda;

import dev.tandem.cuda.discovery.CudaLibrary;
import dev.tandem.cuda.discovery.SearchPlace;
import dev.tandem.cuda.discovery.SearchResult;
import dev.tandem.cuda.driver.Driver;
import dev.tandem.runtime.backend.BackendProbe;
import dev.tandem.runtime.backend.Capability;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Whether this machine can run the CUDA backend: every library found on disk, the driver loaded, {@code cuInit}
 * succeeding and at least one device. Loads only the driver library (the others are loaded when the backend first
 * needs them). Never throws: every problem becomes the probe's reason, short in {@link BackendProbe#summary()}
 * and complete (where discovery looked, what to install) in {@link BackendProbe#details()}.
 */
public final class CudaProbe {
    /** The issue that tracks the GPU backend. */
    public static final String ISSUE = "issue #5";
    /** What an available device cannot do yet, said the same way everywhere. */
    public static final String NOT_IMPLEMENTED = "GPU inference from tandem predict and serve is not wired yet ("
            + ISSUE + ": training graphs run on the GPU; DeviceSession.load runs any supported plan)";

    private CudaProbe() {
    }

    /** A device the driver reports. */
    public record DeviceInfo(int ordinal, String name, int major, int minor, long totalMemory) {
        /** e.g. "NVIDIA H100 80GB HBM3 (compute 9.0, 79.2 GiB)". */
        public String describe() {
            return String.format(Locale.ROOT, "%s (compute %d.%d, %.1f GiB)", name, major, minor,
                    totalMemory / (double) (1L << 30));
        }
    }

    /** Probes with {@code libs}; see the class comment. */
    public static BackendProbe probe(CudaLibraries libs) {
        List<String> details = new ArrayList<>();
        List<SearchResult> missing = new ArrayList<>();
        for (CudaLibrary l : CudaLibrary.values()) {
            SearchResult r = libs.locate(l);
            if (r.found()) {
                details.add(r.describe());
            } else {
                missing.add(r);
            }
        }
        String deviceLine = null;
        String deviceProblem = null;
        String deviceDetail = null;
        Driver d = null;
        if (libs.locate(CudaLibrary.DRIVER).found()) {
            try {
                d = libs.driver();
            } catch (CudaException | LinkageError e) {
                deviceProblem = "the CUDA driver library could not be loaded";
                deviceDetail = e.getMessage();
            }
        }
        if (d != null) {
            try {
                d.init(0);
                int count = d.deviceCount();
                int version = d.driverVersion();
                String driver = "driver for CUDA " + version / 1000 + "." + (version % 1000) / 10;
                if (count == 0) {
                    deviceProblem = "no CUDA device (the " + driver + " sees none)";
                } else {
                    DeviceInfo first = device(d, 0);
                    deviceLine = first.describe() + ", " + driver + (count > 1 ? ", " + count + " devices" : "");
                }
            } catch (CudaException e) {
                deviceProblem = e.errorName().equals("CUDA_ERROR_NO_DEVICE") ? "no CUDA device (cuInit: "
                        + "CUDA_ERROR_NO_DEVICE)" : "the CUDA driver does not work (" + e.getMessage() + ")";
                deviceDetail = "The driver " + d.library().file() + " loaded, but " + e.getMessage()
                        + ". Fix: check nvidia-smi; in a container, expose the GPU (docker --gpus all)";
            } catch (RuntimeException | LinkageError e) {
                deviceProblem = "the CUDA driver could not be used (" + e + ")";
            }
        }
        List<String> problems = new ArrayList<>();
        if (!missing.isEmpty()) {
            problems.add("missing " + missing.stream().map(r -> r.library().title()).collect(Collectors.joining(", ")));
            details.addAll(missingDetails(missing));
        }
        if (deviceProblem != null) {
            problems.add(deviceProblem);
            if (deviceDetail != null) {
                details.add(deviceDetail);
            }
        }
        if (!problems.isEmpty()) {
            String reason = (deviceLine == null ? "" : "found " + deviceLine + ", but ") + String.join("; ", problems);
            return BackendProbe.unavailable("cuda", reason, details);
        }
        return BackendProbe.available("cuda", deviceLine, details, Set.of(Capability.TRAINING),
                Map.of(Capability.INFERENCE, NOT_IMPLEMENTED));
    }

    /** Facts about device {@code ordinal} without creating a context. */
    public static DeviceInfo device(Driver d, int ordinal) {
        int h = d.device(ordinal);
        return new DeviceInfo(ordinal, d.deviceName(h), d.attribute(h, Driver.ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                d.attribute(h, Driver.ATTRIBUTE_COMPUTE_CAPABILITY_MINOR), d.totalMemory(h));
    }

    /**
     * Where the missing libraries were looked for and how to fix it: one line per explicit setting that names
     * nothing, then one line for the rest (they were all looked for in the same folders).
     */
    static List<String> missingDetails(List<SearchResult> missing) {
        List<String> lines = new ArrayList<>();
        List<SearchResult> searched = new ArrayList<>();
        for (SearchResult r : missing) {
            if (!r.problem().isEmpty()) {
                lines.add(r.missingMessage());
            } else {
                searched.add(r);
            }
        }
        if (!searched.isEmpty()) {
            String names = searched.stream().map(r -> r.library().title() + " (" + String.join(" or ",
                    r.library().fileNames()) + ")").collect(Collectors.joining(", "));
            List<SearchPlace> looked = searched.getLast().looked();
            String folders = looked.isEmpty() ? "any folder" : looked.stream().limit(12).map(SearchPlace::toString)
                    .collect(Collectors.joining(", ")) + (looked.size() > 12 ? " and " + (looked.size() - 12)
                    + " more" : "");
            String fixes = searched.stream().map(r -> r.library().installHint()).distinct()
                    .collect(Collectors.joining("; "));
            lines.add("Not found: " + names + "; looked in " + folders + ". Fix: " + fixes + "; or name a file with "
                    + "-Dtandem.cuda.<lib>=PATH or TANDEM_<LIB>=PATH (e.g. -D" + searched.getFirst().library()
                    .property() + "=PATH)");
        }
        return lines;
    }
}
