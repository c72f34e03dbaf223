package dev.tandem.cuda.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.cuda.CudaException;
import dev.tandem.runtime.backend.BackendEnvironment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PtxCacheTest {
    @TempDir
    Path dir;

    /** Writes fake PTX that names every kernel of the source, and counts its calls. */
    static final class CountingCompiler implements PtxCompiler {
        final List<String> calls = new ArrayList<>();
        String version = "fake-1.0";

        @Override
        public byte[] compile(KernelSource source, String arch) {
            calls.add(source.name() + "@" + arch);
            StringBuilder b = new StringBuilder(".version 9.0\n.target " + arch.replace("compute", "sm") + "\n");
            source.kernels().forEach(k -> b.append(".visible .entry ").append(k.name()).append("(\n)\n"));
            return b.toString().getBytes(StandardCharsets.US_ASCII);
        }

        @Override
        public String version() {
            return version;
        }
    }

    static KernelSource source(String body) {
        return new KernelSource("t.cu", body, KernelSignature.parseAll(body));
    }

    @Test
    void compilesOnceThenReadsTheCacheKeyedBySourceArchAndCompiler() throws Exception {
        CountingCompiler cc = new CountingCompiler();
        PtxCache cache = new PtxCache(dir.resolve("ptx"));
        KernelCompiler kc = new KernelCompiler(cc, cache);
        KernelSource a = source("extern \"C\" __global__ void a(float* x) {}");
        assertThat(kc.ptx(a, "compute_90").fromCache()).isFalse();
        KernelCompiler.Compiled again = kc.ptx(a, "compute_90");
        assertThat(again.fromCache()).isTrue();
        assertThat(new String(again.ptx(), StandardCharsets.US_ASCII)).contains(".entry a(");
        assertThat(cc.calls).containsExactly("t.cu@compute_90");

        kc.ptx(a, "compute_80");
        kc.ptx(source("extern \"C\" __global__ void a(float* x) { x[0] = 1; }"), "compute_90");
        cc.version = "fake-2.0";
        kc.ptx(a, "compute_90");
        assertThat(cc.calls).hasSize(4);
        assertThat(cache.file(a, "compute_90", "fake-1.0").getFileName().toString())
                .matches("t-compute_90-fake-1\\.0-[0-9a-f]{16}\\.ptx");
        try (Stream<Path> files = Files.list(dir.resolve("ptx"))) {
            assertThat(files.map(p -> p.getFileName().toString())).hasSize(4).noneMatch(n -> n.endsWith(".tmp"));
        }
    }

    @Test
    void aTruncatedOrForeignEntryIsRecompiledAndReplaced() throws Exception {
        CountingCompiler cc = new CountingCompiler();
        PtxCache cache = new PtxCache(dir);
        KernelSource a = source("extern \"C\" __global__ void a(float* x) {}\nextern \"C\" __global__ void b(int n) {}");
        Path f = cache.file(a, "compute_90", cc.version());
        Files.writeString(f, ".version 9.0\n.target sm_90\n.visible .entry a(\n"); // b is missing: truncated
        assertThat(cache.get(a, "compute_90", cc.version())).isEmpty();
        assertThat(new KernelCompiler(cc, cache).ptx(a, "compute_90").fromCache()).isFalse();
        assertThat(Files.readString(f)).contains(".entry b(");
        Files.write(f, new byte[0]);
        assertThat(cache.get(a, "compute_90", cc.version())).isEmpty();
    }

    @Test
    void anUnwritableCacheOnlyCostsCompileTime() throws Exception {
        Path file = dir.resolve("not-a-folder");
        Files.writeString(file, "x");
        CountingCompiler cc = new CountingCompiler();
        KernelCompiler kc = new KernelCompiler(cc, new PtxCache(file.resolve("ptx")));
        KernelSource a = source("extern \"C\" __global__ void a(float* x) {}");
        assertThat(kc.ptx(a, "compute_90").ptx()).isNotEmpty();
        assertThat(kc.ptx(a, "compute_90").fromCache()).isFalse();
        assertThat(new PtxCache(file.resolve("ptx")).put(a, "compute_90", "v", new byte[] {1})).isFalse();
    }

    @Test
    void compileErrorsPropagate() {
        PtxCompiler failing = new PtxCompiler() {
            @Override
            public byte[] compile(KernelSource source, String arch) {
                throw new CudaException("NVRTC could not compile t.cu: error: expected a \";\"");
            }

            @Override
            public String version() {
                return "x";
            }
        };
        assertThatThrownBy(() -> new KernelCompiler(failing, new PtxCache(dir)).ptx(source(""), "compute_90"))
                .isInstanceOf(CudaException.class).hasMessageContaining("expected a");
    }

    @Test
    void folderComesFromTheSettings() {
        BackendEnvironment e = BackendEnvironment.empty();
        assertThat(PtxCache.fromEnvironment(e.withProperty("tandem.cuda.ptxCache", "/a")).folder())
                .isEqualTo(Path.of("/a"));
        assertThat(PtxCache.fromEnvironment(e.withEnv("TANDEM_PTX_CACHE", "/b")).folder()).isEqualTo(Path.of("/b"));
        assertThat(PtxCache.fromEnvironment(e.withEnv("XDG_CACHE_HOME", "/c")).folder())
                .isEqualTo(Path.of("/c/tandem/ptx"));
        assertThat(PtxCache.fromEnvironment(e.withProperty("user.home", "/home/u")).folder())
                .isEqualTo(Path.of("/home/u/.cache/tandem/ptx"));
    }
}
