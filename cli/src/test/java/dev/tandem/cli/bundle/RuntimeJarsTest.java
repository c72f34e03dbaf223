package dev.tandem.cli.bundle;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the bundle's jars come from: the running CLI's class path, jars or (in a development build) folders. */
class RuntimeJarsTest {
    @TempDir
    Path dir;

    @Test
    void aJarIsCopiedUnderItsOwnName() throws Exception {
        Path protobuf = RuntimeJars.location(com.google.protobuf.Message.class, "protobuf-java jar");
        assertThat(protobuf.getFileName().toString()).startsWith("protobuf-java-").endsWith(".jar");
        Path lib = Files.createDirectories(dir.resolve("lib"));
        assertThat(RuntimeJars.copy(protobuf, lib, "unused.jar")).isEqualTo(protobuf.getFileName().toString());
        assertThat(Files.mismatch(protobuf, lib.resolve(protobuf.getFileName()))).isEqualTo(-1);
    }

    @Test
    void aClassesFolderIsJarred() throws Exception {
        Path classes = Files.createDirectories(dir.resolve("classes/dev/tandem/runtime"));
        Files.writeString(classes.resolve("A.class"), "not really a class");
        Files.createDirectories(dir.resolve("classes/META-INF"));
        Files.writeString(dir.resolve("classes/META-INF/MANIFEST.MF"), "Manifest-Version: 1.0\nMain-Class: X\n");
        Path lib = Files.createDirectories(dir.resolve("lib"));
        assertThat(RuntimeJars.copy(dir.resolve("classes"), lib, "tandem-runtime.jar")).isEqualTo("tandem-runtime.jar");
        try (JarFile jar = new JarFile(lib.resolve("tandem-runtime.jar").toFile())) {
            assertThat(Collections.list(jar.entries()).stream().map(JarEntry::getName))
                    .containsExactly("META-INF/MANIFEST.MF", "dev/tandem/runtime/A.class");
            assertThat(jar.getManifest().getMainAttributes().getValue("Main-Class")).isNull();
            assertThat(new String(jar.getInputStream(jar.getEntry("dev/tandem/runtime/A.class")).readAllBytes()))
                    .isEqualTo("not really a class");
        }
    }

    @Test
    void aClassWithoutACodeSourceIsAClearError() {
        // JDK classes have none: the same answer as a CLI run from somewhere the runtime jar cannot be found.
        assertThatThrownBy(() -> RuntimeJars.location(String.class, "tandem-runtime jar"))
                .isInstanceOf(BundleException.class)
                .hasMessageContaining("Cannot find the tandem-runtime jar this CLI runs with")
                .hasMessageContaining("run tandem from its build");
    }
}
