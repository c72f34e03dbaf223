package dev.tandem.cuda.check;

import dev.tandem.cuda.driver.CudaDevice;
import dev.tandem.cuda.driver.CudaStream;
import dev.tandem.cuda.driver.DeviceBuffer;
import dev.tandem.cuda.driver.Dim3;
import dev.tandem.cuda.driver.KernelArgs;
import dev.tandem.cuda.kernels.KernelLibrary;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link KernelRunner} on a GPU: device buffers from the device, launches on one stream through the kernel
 * library; reads synchronise the stream first. Closing frees every buffer it made (not the device, library or
 * stream, which the caller owns). One thread at a time.
 */
public final class DeviceKernelRunner implements KernelRunner {
    private final CudaDevice device;
    private final KernelLibrary kernels;
    private final CudaStream stream;
    private final Arena arena = Arena.ofShared();
    private final List<DeviceBuffer> buffers = new ArrayList<>();
    private final Map<Long, DeviceBuffer> byAddress = new HashMap<>();
    private final int blockSize;

    /** Runs {@code kernels} on {@code stream} of {@code device} with {@code blockSize} threads per block. */
    public DeviceKernelRunner(CudaDevice device, KernelLibrary kernels, CudaStream stream, int blockSize) {
        this.device = device;
        this.kernels = kernels;
        this.stream = stream;
        this.blockSize = blockSize;
    }

    /** The stream launches go to. */
    public CudaStream stream() {
        return stream;
    }

    private DeviceBuffer buffer(long bytes) {
        DeviceBuffer b = device.allocate(Math.max(4, bytes));
        buffers.add(b);
        byAddress.put(b.address(), b);
        return b;
    }

    private DeviceBuffer at(long address) {
        DeviceBuffer b = byAddress.get(address);
        if (b == null) {
            throw new IllegalArgumentException("no buffer of this runner starts at 0x" + Long.toHexString(address));
        }
        return b;
    }

    @Override
    public long upload(float[] values) {
        DeviceBuffer b = buffer(4L * values.length);
        b.copyFrom(values);
        return b.address();
    }

    @Override
    public long upload(int[] values) {
        DeviceBuffer b = buffer(4L * values.length);
        b.copyFrom(values);
        return b.address();
    }

    @Override
    public long upload(long[] values) {
        DeviceBuffer b = buffer(8L * values.length);
        try (Arena a = Arena.ofConfined()) {
            b.copyFrom(a.allocateFrom(java.lang.foreign.ValueLayout.JAVA_LONG, values));
        }
        return b.address();
    }

    @Override
    public long upload(short[] values) {
        DeviceBuffer b = buffer(2L * values.length);
        b.copyFrom(values);
        return b.address();
    }

    @Override
    public long zeros(long bytes) {
        DeviceBuffer b = buffer((bytes + 3) / 4 * 4);
        b.fill(0);
        return b.address();
    }

    @Override
    public float[] floats(long address, int count) {
        stream.synchronize();
        return at(address).toFloats(count);
    }

    @Override
    public int[] ints(long address, int count) {
        stream.synchronize();
        return at(address).toInts(count);
    }

    @Override
    public short[] shorts(long address, int count) {
        stream.synchronize();
        return at(address).toShorts(count);
    }

    @Override
    public void launch(String kernel, Dim3 grid, Dim3 block, KernelArgs args) {
        kernels.launch(kernel, grid, block, stream, args);
    }

    @Override
    public Arena arena() {
        return arena;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public void close() {
        try {
            stream.synchronize();
        } finally {
            buffers.forEach(DeviceBuffer::close);
            buffers.clear();
            byAddress.clear();
            arena.close();
        }
    }
}
