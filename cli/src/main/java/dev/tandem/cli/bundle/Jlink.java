package dev.tandem.cli.bundle;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * A JDK's {@code jlink}, run as a process: links a Java runtime holding only the modules asked for. The runtime is
 * that JDK's own version, for that JDK's operating system and architecture.
 *
 * @param jdk      the JDK folder
 * @param version  its {@code JAVA_VERSION} from {@code release}
 * @param platform its operating system and architecture, e.g. {@code linux-x86_64}
 */
record Jlink(Path jdk, String version, String platform) {
    /** The oldest Java the runtime jar runs on (its class files are Java 25). */
    static final int MIN_JAVA = 25;
    /** The compression level used: zip-9 saved 30 KB on FashionNet's runtime and took 40% longer. */
    static final String COMPRESS = "zip-6";
    /**
     * Resources of the linked modules that the bundle's {@code predict} never reads: the translations of the
     * launcher's, keytool's, the security libraries' and java.util.logging's messages (the English root bundles stay,
     * and a lookup for another locale falls back to them). 232 KB of FashionNet's bundle. jlink cannot drop whole
     * packages (a module's descriptor names them all), so unused classes stay.
     */
    static final String EXCLUDE_RESOURCES =
            "regex:/[^/]+/.*/resources/[^/]+_(de|es|fr|it|ja|ko|pt_BR|sv|zh_CN|zh_HK|zh_TW)\\.(class|properties)";
    /**
     * Files of java.base that the bundle's {@code predict} never opens (604 KB): the keytool command, the TLS trust
     * store and public-suffix list (read only by TLS and HTTP cookies), the class list for dumping a CDS archive
     * ({@code -Xshare:dump}), and {@code jrt-fs.jar} (for tools on another JDK that read this runtime's modules).
     */
    static final List<String> EXCLUDE_FILES = List.of("/java.base/bin/keytool", "/java.base/lib/security/cacerts",
            "/java.base/lib/security/public_suffix_list.dat", "/java.base/lib/classlist", "/java.base/lib/jrt-fs.jar");

    /**
     * The jlink of a JDK.
     *
     * @throws JlinkUnavailableException when the folder has no {@code bin/jlink} or is older than Java 25
     */
    static Jlink of(Path jdk) {
        Path tool = jdk.resolve("bin").resolve("jlink");
        if (!Files.isExecutable(tool)) {
            throw new JlinkUnavailableException("No jlink in '" + jdk + "' (a JRE or a jlinked runtime has none): run "
                    + "tandem on a full JDK " + MIN_JAVA + "+, or give --jdk with one");
        }
        Properties release = new Properties();
        try (InputStream in = Files.newInputStream(jdk.resolve("release"))) {
            release.load(in);
        } catch (IOException e) {
            throw new JlinkUnavailableException("'" + jdk + "' has no readable release file, so its Java version is "
                    + "unknown; give --jdk with a JDK " + MIN_JAVA + "+");
        }
        String version = unquote(release.getProperty("JAVA_VERSION", ""));
        if (major(version) < MIN_JAVA) {
            throw new JlinkUnavailableException("The JDK in '" + jdk + "' is Java " + (version.isEmpty() ? "?" : version)
                    + "; the runtime jar needs Java " + MIN_JAVA + "+: give --jdk with a JDK " + MIN_JAVA + "+");
        }
        String platform = (unquote(release.getProperty("OS_NAME", System.getProperty("os.name"))) + "-"
                + unquote(release.getProperty("OS_ARCH", System.getProperty("os.arch")))).toLowerCase(java.util.Locale.ROOT);
        return new Jlink(jdk, version, platform);
    }

    /**
     * Links {@code modules} into {@code output} (which must not exist), without debug information, header files, man
     * pages, message translations and the files in {@link #EXCLUDE_FILES}, compressed.
     *
     * @throws JlinkUnavailableException when this JDK cannot link (no jmods and no linkable run-time image)
     * @throws BundleException           when jlink fails otherwise, with its output
     */
    void link(List<String> modules, Path output) {
        List<String> cmd = new ArrayList<>(List.of(jdk.resolve("bin").resolve("jlink").toString(),
                "--add-modules", String.join(",", modules), "--output", output.toString(),
                "--strip-debug", "--no-header-files", "--no-man-pages", "--compress", COMPRESS,
                "--exclude-resources=" + EXCLUDE_RESOURCES, "--exclude-files=" + String.join(",", EXCLUDE_FILES)));
        String out;
        int code;
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new BundleException("jlink in '" + jdk + "' ran for 10 minutes without finishing");
            }
            code = p.exitValue();
        } catch (IOException e) {
            throw new BundleException("Cannot run jlink in '" + jdk + "': " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BundleException("Interrupted while jlink was running");
        }
        String said = String.join("; ", out.lines().map(String::strip)
                .filter(l -> !l.isEmpty() && !l.startsWith("WARNING: Using incubator modules")).toList());
        if (code != 0) {
            if (said.contains("jmods") || said.contains("packaged modules") || said.contains("run-time image")) {
                throw new JlinkUnavailableException("The JDK in '" + jdk + "' cannot link a runtime: it has no jmods/ "
                        + "folder and was not built to link from its own run-time image (jlink said: " + said + "); "
                        + "install a JDK " + MIN_JAVA + "+ that ships jmods, or give --jdk with one");
            }
            throw new BundleException("jlink failed (exit " + code + "): " + said);
        }
    }

    private static String unquote(String s) {
        String t = s.strip();
        return t.length() >= 2 && t.startsWith("\"") && t.endsWith("\"") ? t.substring(1, t.length() - 1) : t;
    }

    /** The feature version of "25.0.3", "25-ea", "1.8.0_412"; 0 when unreadable. */
    static int major(String version) {
        String v = version.startsWith("1.") ? version.substring(2) : version;
        int end = 0;
        while (end < v.length() && Character.isDigit(v.charAt(end))) {
            end++;
        }
        return end == 0 ? 0 : Integer.parseInt(v.substring(0, Math.min(end, 9)));
    }
}
