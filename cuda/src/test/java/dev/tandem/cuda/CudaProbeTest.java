package dev.tandem.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.cuda.discovery.LibrarySearch;
import dev.tandem.runtime.backend.BackendEnvironment;
import dev.tandem.runtime.backend.BackendProbe;
import dev.tandem.runtime.backend.Backends;
import dev.tandem.runtime.backend.Capability;
import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The probe on machines described by fake folders (and, where gcc and cuda.h exist, a fake driver). */
class CudaProbeTest {
    @TempDir
    Path root;

    private BackendProbe probe(BackendEnvironment env) {
        return CudaProbe.probe(new CudaLibraries(new LibrarySearch(env, root)));
    }

    private Path touch(String relative) throws IOException {
        Path f = root.resolve(relative);
        Files.createDirectories(f.getParent());
        Files.writeString(f, "x");
        return f;
    }

    @Test
    void isFoundThroughServiceLoaderWithoutLoadingAnything() {
        var p = Backends.installed(getClass().getClassLoader()).find("cuda");
        assertThat(p).isPresent();
        assertThat(p.get()).isInstanceOf(CudaBackendProvider.class);
        assertThat(p.get().description()).contains("cuBLAS", "cuDNN", "NVRTC");
    }

    @Test
    void aMachineWithoutCudaNamesEveryMissingLibraryWhereItLookedAndTheFix() throws IOException {
        Files.createDirectories(root.resolve("usr/lib/x86_64-linux-gnu"));
        BackendProbe p = probe(BackendEnvironment.empty());
        assertThat(p.available()).isFalse();
        assertThat(p.summary()).isEqualTo("missing CUDA driver, cuBLASLt, cuBLAS, NVRTC, cuDNN");
        assertThat(p.details()).singleElement().asString()
                .startsWith("Not found: CUDA driver (libcuda.so.1 or libcuda.so), cuBLASLt (libcublasLt.so.13 or "
                        + "libcublasLt.so.12), cuBLAS (libcublas.so.13 or libcublas.so.12), NVRTC (libnvrtc.so.13 or "
                        + "libnvrtc.so.12), cuDNN (libcudnn.so.9); looked in " + root.resolve("usr/lib/x86_64-linux-gnu")
                        + " (standard), " + root.resolve("usr/lib") + " (standard). Fix: install the NVIDIA driver")
                .contains("install cuDNN 9", "-Dtandem.cuda.libcuda=PATH");
        assertThat(p.supports(Capability.TRAINING)).isFalse();
        assertThat(p.whyNot(Capability.TRAINING)).isEqualTo(p.summary());
    }

    @Test
    void anExplicitSettingThatNamesNothingIsReportedAsSuch() {
        BackendProbe p = probe(BackendEnvironment.empty().withProperty("tandem.cuda.libcuda", "/nowhere/libcuda.so.1"));
        assertThat(p.summary()).startsWith("missing CUDA driver, ");
        assertThat(p.details().getFirst()).isEqualTo("CUDA driver not found: -Dtandem.cuda.libcuda=/nowhere/libcuda"
                + ".so.1: no such file or folder; name the file with -Dtandem.cuda.libcuda=PATH or TANDEM_LIBCUDA=PATH");
    }

    @Test
    void aDriverFileThatIsNoLibraryIsAProblemNotACrash() throws IOException {
        touch("usr/lib/libcuda.so.1");
        BackendProbe p = probe(BackendEnvironment.empty());
        assertThat(p.available()).isFalse();
        assertThat(p.summary()).isEqualTo("missing cuBLASLt, cuBLAS, NVRTC, cuDNN; the CUDA driver library could not be "
                + "loaded");
        assertThat(p.details().getFirst()).startsWith("CUDA driver: " + root.resolve("usr/lib/libcuda.so.1"));
        assertThat(p.details().getLast()).startsWith("cannot load CUDA driver from " + root.resolve("usr/lib/libcuda.so.1"))
                .endsWith("(is it a 64-bit Linux library, and are the libraries it needs on LD_LIBRARY_PATH?)");
    }

    @Test
    void withTheFakeDriverADeviceIsFoundAndOffersTraining() throws Throwable {
        Path fake = NativeTools.buildFakeDriver(root.resolve("usr/lib"));
        for (String f : new String[] {"libcublasLt.so.13", "libcublas.so.13", "libnvrtc.so.13", "libcudnn.so.9"}) {
            touch("usr/local/cuda/lib64/" + f);
        }
        BackendProbe p = probe(BackendEnvironment.empty());
        assertThat(p.available()).as(p.summary() + " " + p.details()).isTrue();
        assertThat(p.summary()).isEqualTo("Fake GPU 9000 (compute 9.0, 80.0 GiB), driver for CUDA 13.0");
        assertThat(p.details()).hasSize(5).first().asString().startsWith("CUDA driver: " + fake);
        assertThat(p.supports(Capability.TRAINING)).isTrue();
        assertThat(p.supports(Capability.INFERENCE)).isFalse();
        assertThat(p.whyNot(Capability.INFERENCE)).startsWith("GPU inference from tandem predict and serve is not "
                + "wired yet (issue #5");

        // The same driver with no device.
        CudaLibraries libs = new CudaLibraries(new LibrarySearch(BackendEnvironment.empty(), root));
        var set = libs.driver().library().downcall(FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT),
                "fake_set_device_count");
        set.handle().invokeExact(0);
        try {
            BackendProbe none = CudaProbe.probe(libs);
            assertThat(none.available()).isFalse();
            assertThat(none.summary()).isEqualTo("no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)");
            assertThat(none.details().getLast()).contains("cuInit failed: CUDA_ERROR_NO_DEVICE", "docker --gpus all");
        } finally {
            set.handle().invokeExact(1);
        }
    }
}
