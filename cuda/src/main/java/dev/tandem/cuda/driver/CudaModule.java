package dev.tandem.cuda.driver;

import dev.tandem.cuda.ffm.NativeResource;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/**
 * A loaded module ({@code cuModuleLoadData} of PTX or a cubin) and its kernels. The {@link CudaFunction}s it hands
 * out are valid while it is open.
 */
public final class CudaModule extends NativeResource {
    private final Driver driver;
    private final String name;
    private final MemorySegment handle;
    private final Map<String, CudaFunction> functions = new HashMap<>();

    CudaModule(Driver driver, byte[] image, String name) {
        this.driver = driver;
        this.name = name;
        try (Arena a = Arena.ofConfined()) {
            // PTX is text and must end with a NUL; a cubin ignores the extra byte.
            MemorySegment img = a.allocate(image.length + 1L);
            MemorySegment.copy(image, 0, img, ValueLayout.JAVA_BYTE, 0, image.length);
            this.handle = driver.moduleLoadData(img);
        }
    }

    /** The kernel called {@code kernel} (its {@code extern "C"} name); looked up once. */
    public synchronized CudaFunction function(String kernel) {
        checkOpen();
        return functions.computeIfAbsent(kernel, k -> new CudaFunction(this, k, driver.moduleGetFunction(handle, k)));
    }

    Driver driver() {
        return driver;
    }

    void checkUsable() {
        checkOpen();
    }

    @Override
    protected String describe() {
        return "CUDA module " + name;
    }

    @Override
    protected void release() {
        driver.moduleUnload(handle);
    }
}
