package dev.tandem.cuda.blas;

import static dev.tandem.cuda.ffm.Types.FLOAT;
import static dev.tandem.cuda.ffm.Types.INT;
import static dev.tandem.cuda.ffm.Types.LONG;
import static dev.tandem.cuda.ffm.Types.PTR;

import dev.tandem.cuda.CudaException;
import dev.tandem.cuda.ffm.Calls;
import dev.tandem.cuda.ffm.Downcall;
import dev.tandem.cuda.ffm.NativeLibrary;
import dev.tandem.cuda.ffm.Types;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.util.Map;

/**
 * Bindings to cuBLAS ({@code libcublas.so.13} or {@code .12}; load {@code libcublasLt} first), every status
 * checked: a failure is a {@link CudaException} naming the call and the status ({@code cublasGetStatusName},
 * {@code cublasGetStatusString}, or Tandem's own table when the library lacks them).
 *
 * <p>cuBLAS is column-major: {@link GemmCall} maps Tandem's row-major products onto these calls. Matrices are
 * device addresses ({@code long}); alpha and beta are passed through host memory (the default pointer mode).
 */
public final class Cublas {
    /** {@code CUBLAS_OP_N}. */
    public static final int OP_N = 0;
    /** {@code CUBLAS_OP_T}. */
    public static final int OP_T = 1;
    /** {@code CUBLAS_DEFAULT_MATH}: float32 GEMMs in full float32. */
    public static final int DEFAULT_MATH = 0;
    /** {@code CUBLAS_PEDANTIC_MATH}. */
    public static final int PEDANTIC_MATH = 2;
    /** {@code CUBLAS_TF32_TENSOR_OP_MATH}: float32 GEMMs on tensor cores with TF32 inputs. */
    public static final int TF32_TENSOR_OP_MATH = 3;
    /** {@code CUDA_R_32F} ({@code library_types.h}). */
    public static final int CUDA_R_32F = 0;
    /** {@code CUDA_R_16BF} ({@code library_types.h}). */
    public static final int CUDA_R_16BF = 14;
    /** {@code CUBLAS_COMPUTE_32F}. */
    public static final int COMPUTE_32F = 68;
    /** {@code CUBLAS_COMPUTE_32F_FAST_TF32}. */
    public static final int COMPUTE_32F_FAST_TF32 = 77;
    /** {@code CUBLAS_GEMM_DEFAULT}. */
    public static final int GEMM_DEFAULT = -1;

    /** cublasStatus_t names, for libraries without {@code cublasGetStatusName}. */
    static final Map<Integer, String> STATUS_NAMES = Map.of(
            0, "CUBLAS_STATUS_SUCCESS", 1, "CUBLAS_STATUS_NOT_INITIALIZED", 3, "CUBLAS_STATUS_ALLOC_FAILED",
            7, "CUBLAS_STATUS_INVALID_VALUE", 8, "CUBLAS_STATUS_ARCH_MISMATCH", 11, "CUBLAS_STATUS_MAPPING_ERROR",
            13, "CUBLAS_STATUS_EXECUTION_FAILED", 14, "CUBLAS_STATUS_INTERNAL_ERROR",
            15, "CUBLAS_STATUS_NOT_SUPPORTED", 16, "CUBLAS_STATUS_LICENSE_ERROR");

    private final NativeLibrary lib;
    private final Downcall cublasGetStatusName;
    private final Downcall cublasGetStatusString;
    private final Downcall cublasCreate;
    private final Downcall cublasDestroy;
    private final Downcall cublasGetVersion;
    private final Downcall cublasSetStream;
    private final Downcall cublasSetMathMode;
    private final Downcall cublasSgemm;
    private final Downcall cublasSgemmStridedBatched;
    private final Downcall cublasGemmEx;

    /** Bindings over a loaded {@code libcublas}; nothing is called yet. */
    public Cublas(NativeLibrary lib) {
        this.lib = lib;
        cublasGetStatusName = lib.downcall(FunctionDescriptor.of(PTR, INT), "cublasGetStatusName");
        cublasGetStatusString = lib.downcall(FunctionDescriptor.of(PTR, INT), "cublasGetStatusString");
        cublasCreate = lib.downcall(FunctionDescriptor.of(INT, PTR), "cublasCreate_v2");
        cublasDestroy = lib.downcall(FunctionDescriptor.of(INT, PTR), "cublasDestroy_v2");
        cublasGetVersion = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR), "cublasGetVersion_v2");
        cublasSetStream = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR), "cublasSetStream_v2");
        cublasSetMathMode = lib.downcall(FunctionDescriptor.of(INT, PTR, INT), "cublasSetMathMode");
        // (handle, transa, transb, m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc); device pointers as 64-bit ints.
        cublasSgemm = lib.downcall(FunctionDescriptor.of(INT, PTR, INT, INT, INT, INT, INT, PTR, LONG, INT, LONG, INT,
                PTR, LONG, INT), "cublasSgemm_v2");
        // (..., *alpha, A, lda, strideA, B, ldb, strideB, *beta, C, ldc, strideC, batchCount)
        cublasSgemmStridedBatched = lib.downcall(FunctionDescriptor.of(INT, PTR, INT, INT, INT, INT, INT, PTR, LONG,
                INT, LONG, LONG, INT, LONG, PTR, LONG, INT, LONG, INT), "cublasSgemmStridedBatched");
        // (..., *alpha, A, Atype, lda, B, Btype, ldb, *beta, C, Ctype, ldc, computeType, algo)
        cublasGemmEx = lib.downcall(FunctionDescriptor.of(INT, PTR, INT, INT, INT, INT, INT, PTR, LONG, INT, INT,
                LONG, INT, INT, PTR, LONG, INT, INT, INT, INT), "cublasGemmEx");
    }

    /** The library these bindings call. */
    public NativeLibrary library() {
        return lib;
    }

    /** cuBLAS's name for a status, e.g. {@code CUBLAS_STATUS_INVALID_VALUE}. */
    public String statusName(int status) {
        String s = text(cublasGetStatusName, status);
        return s.isEmpty() ? STATUS_NAMES.getOrDefault(status, "") : s;
    }

    private String statusString(int status) {
        return text(cublasGetStatusString, status);
    }

    private static String text(Downcall d, int status) {
        if (!d.available()) {
            return "";
        }
        try {
            return Types.string((MemorySegment) d.handle().invokeExact(status));
        } catch (Throwable t) {
            return "";
        }
    }

    /** Throws a {@link CudaException} for a non-zero {@code cublasStatus_t} of {@code call}. */
    public void check(int status, Downcall call) {
        if (status != 0) {
            throw new CudaException("cuBLAS", call.name(), status, statusName(status), statusString(status));
        }
    }

    /** {@code cublasCreate_v2}: a new handle (needs a current context). */
    public MemorySegment create() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            int rc = (int) cublasCreate.handle().invokeExact(out);
            check(rc, cublasCreate);
            return out.get(PTR, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(cublasCreate.name(), t);
        }
    }

    /** {@code cublasDestroy_v2}. */
    public void destroy(MemorySegment handle) {
        int rc;
        try {
            rc = (int) cublasDestroy.handle().invokeExact(handle);
        } catch (Throwable t) {
            throw Calls.rethrow(cublasDestroy.name(), t);
        }
        check(rc, cublasDestroy);
    }

    /** {@code cublasGetVersion_v2}: e.g. 130100 for 13.1.0. */
    public int version(MemorySegment handle) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT);
            int rc = (int) cublasGetVersion.handle().invokeExact(handle, out);
            check(rc, cublasGetVersion);
            return out.get(INT, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(cublasGetVersion.name(), t);
        }
    }

    /** {@code cublasSetStream_v2}. */
    public void setStream(MemorySegment handle, MemorySegment stream) {
        int rc;
        try {
            rc = (int) cublasSetStream.handle().invokeExact(handle, stream);
        } catch (Throwable t) {
            throw Calls.rethrow(cublasSetStream.name(), t);
        }
        check(rc, cublasSetStream);
    }

    /** {@code cublasSetMathMode}: {@link #DEFAULT_MATH}, {@link #TF32_TENSOR_OP_MATH}, ... */
    public void setMathMode(MemorySegment handle, int mode) {
        int rc;
        try {
            rc = (int) cublasSetMathMode.handle().invokeExact(handle, mode);
        } catch (Throwable t) {
            throw Calls.rethrow(cublasSetMathMode.name(), t);
        }
        check(rc, cublasSetMathMode);
    }

    /** {@code cublasSgemm_v2}: column-major {@code C = alpha op(A) op(B) + beta C}, C of m×n. */
    public void sgemm(MemorySegment handle, int transa, int transb, int m, int n, int k, float alpha, long a, int lda,
                      long b, int ldb, float beta, long c, int ldc) {
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment al = ar.allocateFrom(FLOAT, alpha);
            MemorySegment be = ar.allocateFrom(FLOAT, beta);
            int rc = (int) cublasSgemm.handle().invokeExact(handle, transa, transb, m, n, k, al, a, lda, b, ldb, be,
                    c, ldc);
            check(rc, cublasSgemm);
        } catch (Throwable t) {
            throw Calls.rethrow(cublasSgemm.name(), t);
        }
    }

    /** {@code cublasSgemmStridedBatched}: {@code batch} GEMMs whose matrices are {@code stride} floats apart. */
    public void sgemmStridedBatched(MemorySegment handle, int transa, int transb, int m, int n, int k, float alpha,
                                    long a, int lda, long strideA, long b, int ldb, long strideB, float beta, long c,
                                    int ldc, long strideC, int batch) {
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment al = ar.allocateFrom(FLOAT, alpha);
            MemorySegment be = ar.allocateFrom(FLOAT, beta);
            int rc = (int) cublasSgemmStridedBatched.handle().invokeExact(handle, transa, transb, m, n, k, al, a, lda,
                    strideA, b, ldb, strideB, be, c, ldc, strideC, batch);
            check(rc, cublasSgemmStridedBatched);
        } catch (Throwable t) {
            throw Calls.rethrow(cublasSgemmStridedBatched.name(), t);
        }
    }

    /**
     * {@code cublasGemmEx} with float alpha and beta (so {@code computeType} must be a 32F one): e.g. bfloat16
     * inputs ({@link #CUDA_R_16BF}) with float32 output and {@link #COMPUTE_32F}.
     */
    public void gemmEx(MemorySegment handle, int transa, int transb, int m, int n, int k, float alpha, long a,
                       int aType, int lda, long b, int bType, int ldb, float beta, long c, int cType, int ldc,
                       int computeType, int algo) {
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment al = ar.allocateFrom(FLOAT, alpha);
            MemorySegment be = ar.allocateFrom(FLOAT, beta);
            int rc = (int) cublasGemmEx.handle().invokeExact(handle, transa, transb, m, n, k, al, a, aType, lda, b,
                    bType, ldb, be, c, cType, ldc, computeType, algo);
            check(rc, cublasGemmEx);
        } catch (Throwable t) {
            throw Calls.rethrow(cublasGemmEx.name(), t);
        }
    }
}
