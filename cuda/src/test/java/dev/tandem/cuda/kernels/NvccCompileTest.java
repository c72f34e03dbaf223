package dev.tandem.cuda.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tandem.cuda.NativeTools;
import dev.tandem.cuda.driver.KernelArgs.Kind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Compiles every kernel source exactly as the GPU backend hands it to NVRTC (prelude included), with the local
 * {@code nvcc --ptx -arch=sm_90} (warnings are errors), assembles the PTX with {@code ptxas}, and checks that the
 * PTX entry points have the parameters the Java signatures say: syntax, types and calling convention checked
 * without a GPU. Skipped, saying so, where nvcc is not installed.
 */
class NvccCompileTest {
    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+\\.(\\w+)");

    @TempDir
    Path dir;

    @Test
    void everyKernelCompilesForHopperAndMatchesItsJavaSignature() throws Exception {
        Optional<Path> nvcc = NativeTools.tool("nvcc");
        assumeTrue(nvcc.isPresent(), "skipped: no nvcc (CUDA toolkit) on PATH, in CUDA_HOME/bin or /usr/local/cuda/bin;"
                + " the kernels' CUDA C is not compiled on this machine");
        Optional<Path> ptxas = NativeTools.tool("ptxas");
        KernelSources sources = KernelSources.load();
        List<String> cmd = new ArrayList<>(List.of(nvcc.get().toString(), "--ptx", "-arch=sm_90", "--std=c++17",
                "-Werror", "all-warnings", "-odir", dir.toString()));
        for (KernelSource s : sources.all()) {
            Path cu = dir.resolve(s.name());
            Files.writeString(cu, s.text());
            cmd.add(cu.toString());
        }
        NativeTools.Result r = NativeTools.run(cmd, 300);
        assertThat(r.exit()).as("nvcc:\n" + r.output()).isZero();
        for (KernelSource s : sources.all()) {
            Path ptx = dir.resolve(s.name().replace(".cu", ".ptx"));
            String text = Files.readString(ptx);
            if (ptxas.isPresent()) {
                NativeTools.Result a = NativeTools.run(List.of(ptxas.get().toString(), "-arch=sm_90", ptx.toString(),
                        "-o", dir.resolve(s.name() + ".cubin").toString()), 120);
                assertThat(a.exit()).as("ptxas " + s.name() + ":\n" + a.output()).isZero();
            }
            Map<String, List<String>> entries = entries(text);
            assertThat(entries.keySet()).as(s.name())
                    .containsExactlyInAnyOrderElementsOf(s.kernels().stream().map(KernelSignature::name).toList());
            for (KernelSignature k : s.kernels()) {
                assertThat(entries.get(k.name())).as(k.name() + " parameters in PTX")
                        .containsExactlyElementsOf(k.params().stream().map(NvccCompileTest::ptxType).toList());
            }
            assertThat(PtxCache.looksLikePtx(text.getBytes(), s)).isTrue();
        }
    }

    static Map<String, List<String>> entries(String ptx) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        Matcher m = ENTRY.matcher(ptx);
        while (m.find()) {
            List<String> types = new ArrayList<>();
            Matcher p = PARAM.matcher(m.group(2));
            while (p.find()) {
                types.add(p.group(1));
            }
            out.put(m.group(1), types);
        }
        return out;
    }

    static String ptxType(Kind k) {
        return switch (k) {
            case POINTER, LONG -> "u64";
            case INT -> "u32";
            case FLOAT -> "f32";
        };
    }
}
