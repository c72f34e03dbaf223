package dev.tandem.cuda.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.cuda.CudaException;
import dev.tandem.cuda.CudaLibraries;
import dev.tandem.cuda.NativeTools;
import dev.tandem.cuda.discovery.LibrarySearch;
import dev.tandem.cuda.ffm.Downcall;
import dev.tandem.cuda.ffm.NativeLibrary;
import dev.tandem.runtime.backend.BackendEnvironment;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The driver bindings and their RAII wrappers against a fake {@code libcuda.so.1} built here with gcc from
 * {@code src/test/native/fake_cuda.c}, which includes the real {@code cuda.h}: symbol names and C types are checked
 * against the CUDA 13 header, argument passing and out-parameters by what the fake computes. Skipped (with the
 * reason) where gcc or the header is missing.
 */
class FakeDriverTest {
    @TempDir
    static Path dir;
    static Path fake;
    static CudaLibraries libs;
    static Driver driver;
    static Downcall liveObjects;
    static Downcall setDeviceCount;

    @BeforeAll
    static void build() throws Exception {
        fake = NativeTools.buildFakeDriver(dir);
        libs = new CudaLibraries(new LibrarySearch(BackendEnvironment.empty()
                .withProperty("tandem.cuda.libcuda", fake.toString())));
        driver = libs.driver();
        NativeLibrary lib = driver.library();
        liveObjects = lib.downcall(FunctionDescriptor.of(ValueLayout.JAVA_LONG), "fake_live_objects");
        setDeviceCount = lib.downcall(FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT), "fake_set_device_count");
    }

    static long live() throws Throwable {
        return (long) liveObjects.handle().invokeExact();
    }

    static void devices(int n) throws Throwable {
        setDeviceCount.handle().invokeExact(n);
    }

    @AfterEach
    void nothingLeaks() throws Throwable {
        devices(1);
        assertThat(live()).as("CUDA objects not released").isZero();
    }

    @Test
    void everyBoundSymbolIsExportedUnderTheHeadersName() throws Exception {
        int n = 0;
        for (Field f : Driver.class.getDeclaredFields()) {
            if (f.getType() == Downcall.class) {
                f.setAccessible(true);
                Downcall d = (Downcall) f.get(driver);
                assertThat(d.available()).as(d.name() + " exported by the fake built from cuda.h").isTrue();
                n++;
            }
        }
        assertThat(n).isGreaterThanOrEqualTo(40);
        assertThat(libs.loaded()).singleElement().asString().contains(fake.toString(), "-Dtandem.cuda.libcuda");
    }

    @Test
    void deviceFactsAndPrimaryContext() {
        try (CudaDevice dev = CudaDevice.open(driver, 0)) {
            assertThat(dev.name()).isEqualTo("Fake GPU 9000");
            assertThat(dev.computeMajor()).isEqualTo(9);
            assertThat(dev.virtualArch()).isEqualTo("compute_90");
            assertThat(dev.multiprocessors()).isEqualTo(132);
            assertThat(dev.totalMemory()).isEqualTo(80L << 30);
            assertThat(dev.summary()).isEqualTo("Fake GPU 9000 (compute 9.0, 132 SMs, 80.0 GiB)");
            assertThat(driver.driverVersion()).isEqualTo(13000);
            assertThat(driver.memoryInfo()).containsExactly(79L << 30, 80L << 30);
            dev.makeCurrent();
            dev.synchronize();
        }
        assertThatThrownBy(() -> CudaDevice.open(driver, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no CUDA device 1: the driver sees 1");
    }

    @Test
    void copiesRoundTripAndMemsetFills() {
        try (CudaDevice dev = CudaDevice.open(driver, 0);
             DeviceBuffer a = dev.allocate(4 * 5);
             DeviceBuffer b = dev.allocate(4 * 5);
             PinnedBuffer pinned = dev.allocatePinned(4 * 5);
             CudaStream s = dev.createStream()) {
            a.copyFrom(new float[] {1, 2, 3, 4.5f, -6});
            b.copyFrom(a);
            assertThat(b.toFloats(5)).containsExactly(1, 2, 3, 4.5f, -6);
            b.fill(Float.floatToRawIntBits(0.5f));
            assertThat(b.toFloats(5)).containsOnly(0.5f);
            a.copyToAsync(pinned, s);
            s.synchronize();
            assertThat(pinned.segment().toArray(ValueLayout.JAVA_FLOAT)).containsExactly(1, 2, 3, 4.5f, -6);
            pinned.segment().setAtIndex(ValueLayout.JAVA_FLOAT, 0, 7f);
            b.copyFromAsync(pinned, s);
            assertThat(b.toFloats(1)).containsExactly(7f);
            b.copyFrom(new short[] {0x3f80, 0x4000});
            assertThat(b.toShorts(2)).containsExactly((short) 0x3f80, (short) 0x4000);
            assertThatThrownBy(() -> a.copyFrom(new float[6])).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("copy of 24 bytes does not fit device buffer of 20 bytes");
        }
    }

    @Test
    void failedCallsNameTheCallAndTheDriversError() {
        try (CudaDevice dev = CudaDevice.open(driver, 0)) {
            assertThatThrownBy(() -> dev.allocate(1L << 41)).isInstanceOf(CudaException.class)
                    .hasMessage("cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory) [driver, code 2]")
                    .satisfies(e -> {
                        CudaException c = (CudaException) e;
                        assertThat(c.call()).isEqualTo("cuMemAlloc_v2");
                        assertThat(c.code()).isEqualTo(2);
                        assertThat(c.errorName()).isEqualTo("CUDA_ERROR_OUT_OF_MEMORY");
                    });
            assertThatThrownBy(() -> driver.init(3)).isInstanceOf(CudaException.class)
                    .hasMessage("cuInit failed: CUDA_ERROR_INVALID_VALUE [driver, code 1]");
            // A code the driver has no name for still says which call failed.
            assertThat(new CudaException("driver", "cuX", 999, driver.errorName(999), driver.errorString(999)))
                    .hasMessage("cuX failed: error 999 [driver, code 999]");
        }
    }

    @Test
    void noDeviceIsTheDriversError() throws Throwable {
        devices(0);
        assertThatThrownBy(() -> CudaDevice.open(driver, 0)).isInstanceOf(CudaException.class)
                .hasMessageContaining("CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)");
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseIsAnIllegalState() {
        CudaDevice dev = CudaDevice.open(driver, 0);
        DeviceBuffer buf = dev.allocate(16);
        CudaStream s = dev.createStream();
        CudaEvent e = dev.createEvent(true);
        buf.close();
        buf.close();
        s.close();
        s.close();
        e.close();
        assertThat(buf.isClosed()).isTrue();
        assertThatThrownBy(buf::address).isInstanceOf(IllegalStateException.class)
                .hasMessage("device buffer of 16 bytes is closed");
        assertThatThrownBy(() -> buf.copyFrom(new float[1])).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(s::synchronize).isInstanceOf(IllegalStateException.class)
                .hasMessage("CUDA stream is closed");
        assertThatThrownBy(e::synchronize).isInstanceOf(IllegalStateException.class);
        assertThat(buf.toString()).isEqualTo("device buffer of 16 bytes (closed)");
        dev.close();
        dev.close();
        assertThatThrownBy(() -> dev.allocate(4)).isInstanceOf(IllegalStateException.class)
                .hasMessage("CUDA device 0 (Fake GPU 9000) is closed");
    }

    @Test
    void kernelLaunchPassesEveryArgumentByPointer() {
        try (CudaDevice dev = CudaDevice.open(driver, 0);
             CudaModule m = dev.loadModule(".version 9.0\n.visible .entry fake_saxpy(\n".getBytes(
                     StandardCharsets.US_ASCII), "fake");
             DeviceBuffer x = dev.allocate(4 * 4);
             DeviceBuffer y = dev.allocate(4 * 4);
             CudaStream s = dev.createStream();
             Arena a = Arena.ofConfined()) {
            x.copyFrom(new float[] {1, 2, 3, 4});
            y.copyFrom(new float[] {10, 20, 30, 40});
            CudaFunction f = m.function("fake_saxpy");
            assertThat(m.function("fake_saxpy")).isSameAs(f);
            KernelArgs args = new KernelArgs(a).f32(2f).buffer(x).buffer(y).i32(3);
            assertThat(args.kinds()).containsExactly(KernelArgs.Kind.FLOAT, KernelArgs.Kind.POINTER,
                    KernelArgs.Kind.POINTER, KernelArgs.Kind.INT);
            f.launch(Dim3.cover(3, 2), Dim3.of(2), 0, s, args);
            s.synchronize();
            assertThat(y.toFloats(4)).containsExactly(12, 24, 36, 40);
            assertThatThrownBy(() -> m.function("missing")).isInstanceOf(CudaException.class)
                    .hasMessageContaining("cuModuleGetFunction(\"missing\") failed: CUDA_ERROR_NOT_FOUND");
        }
        assertThatThrownBy(() -> {
            try (CudaDevice dev = CudaDevice.open(driver, 0)) {
                dev.loadModule("not ptx".getBytes(StandardCharsets.US_ASCII), "bad").close();
            }
        }).isInstanceOf(CudaException.class).hasMessageContaining("cuModuleLoadData failed: CUDA_ERROR_INVALID_IMAGE");
    }

    @Test
    void aCapturedGraphReplaysItsLaunches() {
        try (CudaDevice dev = CudaDevice.open(driver, 0);
             CudaModule m = dev.loadModule(".visible .entry fake_saxpy(".getBytes(StandardCharsets.US_ASCII), "f");
             DeviceBuffer x = dev.allocate(8);
             DeviceBuffer y = dev.allocate(8);
             CudaStream s = dev.createStream();
             CudaEvent start = dev.createEvent(true);
             CudaEvent end = dev.createEvent(true);
             Arena a = Arena.ofConfined()) {
            x.copyFrom(new float[] {1, 1});
            y.fill(0);
            CudaFunction f = m.function("fake_saxpy");
            s.beginCapture();
            f.launch(Dim3.of(1), Dim3.of(2), 0, s, new KernelArgs(a).f32(1).buffer(x).buffer(y).i32(2));
            f.launch(Dim3.of(1), Dim3.of(2), 0, s, new KernelArgs(a).f32(2).buffer(x).buffer(y).i32(2));
            CudaGraphExec exec;
            try (CudaGraph g = s.endCapture()) {
                assertThat(y.toFloats(2)).as("capture records, it does not run").containsExactly(0, 0);
                exec = g.instantiate();
            }
            try (exec) {
                start.record(s);
                exec.launch(s);
                exec.launch(s);
                end.record(s);
                end.synchronize();
                assertThat(end.millisSince(start)).isEqualTo(1.25f);
            }
            assertThat(y.toFloats(2)).containsExactly(6, 6);
        }
    }

    @Test
    void dim3CoversAndRefusesNonsense() {
        assertThat(Dim3.cover(0, 256)).isEqualTo(Dim3.of(1));
        assertThat(Dim3.cover(257, 256)).isEqualTo(Dim3.of(2));
        assertThatThrownBy(() -> Dim3.of(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
