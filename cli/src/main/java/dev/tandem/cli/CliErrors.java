package dev.tandem.cli;

import dev.tandem.runtime.ModelException;
import java.io.IOException;
import java.io.UncheckedIOException;

/** How a failed command reports itself: one line on stderr, exit code 2 for what the user can fix. */
final class CliErrors {
    private CliErrors() {
    }

    /** True for errors in what the user gave (files, models, inputs, options); false for Tandem's own bugs. */
    static boolean isUserError(Throwable e) {
        return e instanceof ModelException || e instanceof picocli.CommandLine.ParameterException
                || e instanceof IOException || e instanceof UncheckedIOException
                || e instanceof IllegalArgumentException || e instanceof dev.tandem.train.data.DataException
                || e instanceof dev.tandem.train.TrainingDivergedException
                || e instanceof dev.tandem.cli.bundle.BundleException;
    }

    /** The error as one line. */
    static String message(Throwable e) {
        String m = e.getMessage();
        if (m == null || m.isBlank() || !isUserError(e)) {
            m = e.toString();
        }
        if (e instanceof java.nio.file.NoSuchFileException) {
            m = "File not found: " + m;
        } else if (e instanceof java.nio.file.FileAlreadyExistsException f) {
            m = "Already exists: " + f.getFile();
        } else if (e instanceof java.nio.file.AccessDeniedException f) {
            m = "Permission denied: " + f.getFile();
        } else if (e instanceof java.nio.file.FileSystemException f) {
            m = f.getFile() + (f.getReason() == null ? "" : ": " + f.getReason());
        }
        StringBuilder sb = new StringBuilder();
        for (String line : m.strip().lines().map(String::strip).filter(l -> !l.isEmpty()).toList()) {
            if (!sb.isEmpty()) {
                sb.append(sb.charAt(sb.length() - 1) == ':' ? " " : "; ");
            }
            sb.append(line);
        }
        return sb.toString();
    }
}
