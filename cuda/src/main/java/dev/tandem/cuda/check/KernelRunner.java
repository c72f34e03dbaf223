package dev.tandem.cuda.check;

import dev.tandem.cuda.driver.Dim3;
import dev.tandem.cuda.driver.KernelArgs;
import java.lang.foreign.Arena;

/**
 * Somewhere Tandem's kernels can run: a GPU ({@link DeviceKernelRunner}) or, in tests, a CPU emulator of the CUDA
 * execution model. Addresses are what kernels receive as pointers. Memory lives until the runner closes.
 */
public interface KernelRunner extends AutoCloseable {
    /** Memory holding {@code values}. */
    long upload(float[] values);

    /** Memory holding {@code values}. */
    long upload(int[] values);

    /** Memory holding {@code values}. */
    long upload(long[] values);

    /** Memory holding {@code values} (16-bit, e.g. bfloat16 bits). */
    long upload(short[] values);

    /** Zeroed memory of {@code bytes}. */
    long zeros(long bytes);

    /** The first {@code count} floats at {@code address}, after all launched work has finished. */
    float[] floats(long address, int count);

    /** The first {@code count} ints at {@code address}, after all launched work has finished. */
    int[] ints(long address, int count);

    /** The first {@code count} 16-bit values at {@code address}, after all launched work has finished. */
    short[] shorts(long address, int count);

    /** Queues {@code kernel} (checking {@code args} against its signature). */
    void launch(String kernel, Dim3 grid, Dim3 block, KernelArgs args);

    /** Memory for kernel arguments; lives as long as the runner. */
    Arena arena();

    /** Threads per block the cases use (a power of two). */
    int blockSize();

    @Override
    void close();
}
