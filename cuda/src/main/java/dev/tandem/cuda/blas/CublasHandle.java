package dev.tandem.cuda.blas;

import dev.tandem.cuda.driver.CudaStream;
import dev.tandem.cuda.driver.DeviceBuffer;
import dev.tandem.cuda.ffm.NativeResource;
import java.lang.foreign.MemorySegment;

/**
 * A cuBLAS handle bound to one stream, with row-major GEMMs on {@link DeviceBuffer}s. Float32 GEMMs use TF32
 * tensor cores when {@code tf32} is set (the default for training), full float32 otherwise. Create it with
 * the device's context current; use it from one thread at a time.
 */
public final class CublasHandle extends NativeResource {
    private final Cublas cublas;
    private final MemorySegment handle;

    /** A handle on {@code stream}, in TF32 or full float32 math. */
    public CublasHandle(Cublas cublas, CudaStream stream, boolean tf32) {
        this.cublas = cublas;
        this.handle = cublas.create();
        try {
            cublas.setStream(handle, stream.handle());
            cublas.setMathMode(handle, tf32 ? Cublas.TF32_TENSOR_OP_MATH : Cublas.DEFAULT_MATH);
        } catch (RuntimeException e) {
            cublas.destroy(handle);
            throw e;
        }
    }

    /** The library's version number, e.g. 130100. */
    public int version() {
        checkOpen();
        return cublas.version(handle);
    }

    /**
     * Row-major {@code C[M×N] = alpha · op(A) · op(B) + beta · C}; A is {@code M×K} ({@code K×M} when {@code
     * transA}), B is {@code K×N} ({@code N×K} when {@code transB}).
     */
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, DeviceBuffer a,
                     DeviceBuffer b, float beta, DeviceBuffer c) {
        checkOpen();
        requireFloats(a, (long) m * k, "A");
        requireFloats(b, (long) k * n, "B");
        requireFloats(c, (long) m * n, "C");
        GemmCall g = GemmCall.rowMajor(transA, transB, m, n, k);
        cublas.sgemm(handle, g.transa(), g.transb(), g.m(), g.n(), g.k(), alpha, b.address(), g.lda(), a.address(),
                g.ldb(), beta, c.address(), g.ldc());
    }

    /**
     * As {@link #gemm} with A and B in bfloat16 (2 bytes per element) and C in float32, accumulated in float32
     * ({@code cublasGemmEx}).
     */
    public void gemmBf16(boolean transA, boolean transB, int m, int n, int k, float alpha, DeviceBuffer a,
                         DeviceBuffer b, float beta, DeviceBuffer c) {
        checkOpen();
        require(a, 2L * m * k, "A (bfloat16)");
        require(b, 2L * k * n, "B (bfloat16)");
        requireFloats(c, (long) m * n, "C");
        GemmCall g = GemmCall.rowMajor(transA, transB, m, n, k);
        cublas.gemmEx(handle, g.transa(), g.transb(), g.m(), g.n(), g.k(), alpha, b.address(), Cublas.CUDA_R_16BF,
                g.lda(), a.address(), Cublas.CUDA_R_16BF, g.ldb(), beta, c.address(), Cublas.CUDA_R_32F, g.ldc(),
                Cublas.COMPUTE_32F, Cublas.GEMM_DEFAULT);
    }

    private static void requireFloats(DeviceBuffer buf, long floats, String what) {
        require(buf, 4 * floats, what);
    }

    private static void require(DeviceBuffer buf, long bytes, String what) {
        if (buf.bytes() < bytes) {
            throw new IllegalArgumentException("GEMM operand " + what + " needs " + bytes + " bytes; its "
                    + buf + " is smaller");
        }
    }

    @Override
    protected String describe() {
        return "cuBLAS handle";
    }

    @Override
    protected void release() {
        cublas.destroy(handle);
    }
}
