package dev.tandem.train.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void createsAndReplacesWithoutLeavingTemporaryFiles() throws IOException {
        Path file = dir.resolve("a.txt");
        AtomicFiles.writeString(file, "first");
        AtomicFiles.writeString(file, "second, longer");
        assertThat(Files.readString(file)).isEqualTo("second, longer");
        assertThat(names()).containsExactly("a.txt");
    }

    @Test
    void newFilesGetTheFolderDefaultPermissionsNotOwnerOnly() throws IOException {
        Assumptions.assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"));
        Path reference = Files.createFile(dir.resolve("reference"));
        Path file = dir.resolve("metrics.json");
        AtomicFiles.writeString(file, "{}");
        assertThat(Files.getPosixFilePermissions(file)).isEqualTo(Files.getPosixFilePermissions(reference));
    }

    @Test
    void bodyMayCloseItsStream() throws IOException {
        Path file = dir.resolve("b.bin");
        AtomicFiles.write(file, out -> {
            out.write(new byte[] {1, 2, 3});
            out.close();
        });
        assertThat(Files.readAllBytes(file)).containsExactly(1, 2, 3);
    }

    @Test
    void fullDiskMidwayKeepsTheOldFile() throws IOException {
        Path file = dir.resolve("metrics.json");
        AtomicFiles.writeString(file, "old content");

        assertThatThrownBy(() -> AtomicFiles.write(file, out -> {
            out.write(new byte[200_000]); // more than the buffer: some of it reached the temporary file
            throw new IOException("No space left on device");
        }))
                .isInstanceOf(AtomicWriteException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("No space left on device")
                .satisfies(e -> assertThat(((AtomicWriteException) e).path()).isEqualTo(file))
                .cause().hasMessage("No space left on device");

        assertThat(Files.readString(file)).isEqualTo("old content");
        assertThat(names()).containsExactly("metrics.json");
    }

    @Test
    void uncheckedFailureIsRethrownAsIsAndCleanedUp() throws IOException {
        Path file = dir.resolve("c.txt");
        AtomicFiles.writeString(file, "keep");
        assertThatThrownBy(() -> AtomicFiles.write(file, out -> {
            out.write(1);
            throw new IllegalStateException("bug");
        })).isExactlyInstanceOf(IllegalStateException.class);
        assertThat(Files.readString(file)).isEqualTo("keep");
        assertThat(names()).containsExactly("c.txt");
    }

    @Test
    void missingFolderIsATypedErrorNamingThePath() {
        Path file = dir.resolve("no/such/folder/x.txt");
        assertThatThrownBy(() -> AtomicFiles.writeString(file, "x"))
                .isInstanceOf(AtomicWriteException.class)
                .hasMessageContaining(file.toString());
    }

    private Stream<String> namesStream() throws IOException {
        return Files.list(dir).map(p -> p.getFileName().toString());
    }

    private java.util.List<String> names() throws IOException {
        try (Stream<String> s = namesStream()) {
            return s.sorted().toList();
        }
    }
}
