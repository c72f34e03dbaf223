package dev.tandem.cuda.discovery;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Where one library was found, or where it was looked for in vain.
 *
 * @param library the library
 * @param file the file found, if any
 * @param origin why its folder was searched ("explicit -Dtandem.cuda.libcuda", "CUDA_HOME", "pip wheel", ...),
 *     or "" when not found
 * @param looked the folders examined, in order, up to and including the one it was found in
 * @param problem when an explicit setting names nothing usable, what is wrong with it; otherwise ""
 */
public record SearchResult(CudaLibrary library, Optional<Path> file, String origin, List<SearchPlace> looked,
                           String problem) {
    /** How many folders a message lists before it says "and N more". */
    static final int LISTED_FOLDERS = 12;

    public SearchResult {
        Objects.requireNonNull(library, "library");
        Objects.requireNonNull(file, "file");
        looked = List.copyOf(looked);
    }

    /** Whether a file was found. */
    public boolean found() {
        return file.isPresent();
    }

    /**
     * One line for people: the file found and where it came from ("libcuda.so.1: /usr/lib/libcuda.so.1 → ...
     * (standard)"), or {@link #missingMessage()}.
     */
    public String describe() {
        if (file.isEmpty()) {
            return missingMessage();
        }
        Path f = file.get();
        String real = "";
        try {
            Path r = f.toRealPath();
            if (!r.equals(f.toAbsolutePath())) {
                real = " -> " + r;
            }
        } catch (java.io.IOException | SecurityException e) {
            // The link target is only a detail of the report.
        }
        return library.title() + ": " + f + real + " (" + origin + ")";
    }

    /**
     * Why the library is missing, where discovery looked, and the fix: what to install, and how to name the file
     * explicitly. Empty when it was found.
     */
    public String missingMessage() {
        if (file.isPresent()) {
            return "";
        }
        String how = "name the file with -D" + library.property() + "=PATH or " + library.envVariable() + "=PATH";
        if (!problem.isEmpty()) {
            return library.title() + " not found: " + problem + "; " + how;
        }
        String names = String.join(" or ", library.fileNames());
        String folders = looked.stream().limit(LISTED_FOLDERS).map(SearchPlace::toString)
                .collect(Collectors.joining(", "));
        if (looked.size() > LISTED_FOLDERS) {
            folders += " and " + (looked.size() - LISTED_FOLDERS) + " more";
        }
        return library.title() + " not found: no " + names + " in " + (looked.isEmpty() ? "any folder"
                : folders) + ". Fix: " + library.installHint() + ", or " + how;
    }

    static boolean isFile(Path p) {
        try {
            return Files.isRegularFile(p);
        } catch (SecurityException e) {
            return false;
        }
    }
}
