package dev.tandem.cli.bundle;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

/**
 * The jars a bundle runs on, found where this CLI loaded them from: the tandem-runtime jar and protobuf-java, its
 * one dependency. A runtime given as a classes folder (a development build run from the IDE or by
 * {@code mvn test}) is jarred into the bundle.
 */
final class RuntimeJars {
    private RuntimeJars() {
    }

    /** Where a class was loaded from: a jar or a classes folder. */
    static Path location(Class<?> c, String what) {
        CodeSource src = c.getProtectionDomain().getCodeSource();
        if (src == null || src.getLocation() == null) {
            throw new BundleException("Cannot find the " + what + " this CLI runs with (" + c.getName()
                    + " has no code source); run tandem from its build (./tandem, or java -jar cli/target/tandem-cli.jar "
                    + "with cli/target/lib/)");
        }
        try {
            Path p = Path.of(src.getLocation().toURI());
            if (!Files.isRegularFile(p) && !Files.isDirectory(p)) {
                throw new BundleException("The " + what + " this CLI was loaded from, '" + p + "', is gone; rebuild "
                        + "Tandem (./mvnw -pl cli -am package)");
            }
            return p;
        } catch (URISyntaxException | IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            throw new BundleException("Cannot find the " + what + " this CLI runs with: " + c.getName()
                    + " was loaded from " + src.getLocation() + ", which is not a file");
        }
    }

    /**
     * Copies the jar (or jars the classes folder) at {@code source} into {@code dir}; returns the file name used.
     *
     * @param name the name for a jarred classes folder
     */
    static String copy(Path source, Path dir, String name) throws IOException {
        if (Files.isRegularFile(source)) {
            String file = source.getFileName().toString();
            Files.copy(source, dir.resolve(file));
            return file;
        }
        Manifest mf = new Manifest();
        mf.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        try (OutputStream out = Files.newOutputStream(dir.resolve(name));
             JarOutputStream jar = new JarOutputStream(out, mf);
             Stream<Path> files = Files.walk(source)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                String entry = String.join("/", List.of(source.relativize(f).toString().split(
                        java.util.regex.Pattern.quote(f.getFileSystem().getSeparator()))));
                if (entry.equals("META-INF/MANIFEST.MF")) {
                    continue;
                }
                jar.putNextEntry(new JarEntry(entry));
                Files.copy(f, jar);
                jar.closeEntry();
            }
        }
        return name;
    }
}
