package dev.tandem.cuda.dnn;

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

/**
 * Bindings to cuDNN 9's legacy convolution API ({@code libcudnn.so.9}), every status checked: a failure is a
 * {@link CudaException} with {@code cudnnGetErrorString}'s text. Tensors are NCHW; data pointers are device
 * addresses ({@code long}); alpha and beta are host floats (float32 data).
 */
public final class Cudnn {
    /** {@code CUDNN_TENSOR_NCHW}. */
    public static final int TENSOR_NCHW = 0;
    /** {@code CUDNN_DATA_FLOAT}. */
    public static final int DATA_FLOAT = 0;
    /** {@code CUDNN_DATA_BFLOAT16}. */
    public static final int DATA_BFLOAT16 = 9;
    /** {@code CUDNN_CROSS_CORRELATION}: what deep learning calls convolution (no kernel flip). */
    public static final int CROSS_CORRELATION = 1;
    /** {@code CUDNN_DEFAULT_MATH}: tensor cores allowed (TF32 for float32 on Ampere and later). */
    public static final int DEFAULT_MATH = 0;
    /** {@code CUDNN_TENSOR_OP_MATH}. */
    public static final int TENSOR_OP_MATH = 1;
    /** {@code CUDNN_FMA_MATH}: no tensor cores, full float32. */
    public static final int FMA_MATH = 3;
    /** {@code CUDNN_CONVOLUTION_FWD_ALGO_COUNT}. */
    public static final int FWD_ALGO_COUNT = 8;
    /** {@code CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT}. */
    public static final int BWD_DATA_ALGO_COUNT = 6;
    /** {@code CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT}. */
    public static final int BWD_FILTER_ALGO_COUNT = 7;

    private final NativeLibrary lib;
    private final Downcall cudnnGetVersion;
    private final Downcall cudnnGetErrorString;
    private final Downcall cudnnCreate;
    private final Downcall cudnnDestroy;
    private final Downcall cudnnSetStream;
    private final Downcall cudnnCreateTensorDescriptor;
    private final Downcall cudnnSetTensor4dDescriptor;
    private final Downcall cudnnDestroyTensorDescriptor;
    private final Downcall cudnnCreateFilterDescriptor;
    private final Downcall cudnnSetFilter4dDescriptor;
    private final Downcall cudnnDestroyFilterDescriptor;
    private final Downcall cudnnCreateConvolutionDescriptor;
    private final Downcall cudnnSetConvolution2dDescriptor;
    private final Downcall cudnnSetConvolutionGroupCount;
    private final Downcall cudnnSetConvolutionMathType;
    private final Downcall cudnnDestroyConvolutionDescriptor;
    private final Downcall cudnnGetConvolution2dForwardOutputDim;
    private final Downcall cudnnGetConvolutionForwardAlgorithm;
    private final Downcall cudnnGetConvolutionBackwardDataAlgorithm;
    private final Downcall cudnnGetConvolutionBackwardFilterAlgorithm;
    private final Downcall cudnnFindConvolutionForwardAlgorithm;
    private final Downcall cudnnFindConvolutionBackwardDataAlgorithm;
    private final Downcall cudnnFindConvolutionBackwardFilterAlgorithm;
    private final Downcall cudnnGetConvolutionForwardWorkspaceSize;
    private final Downcall cudnnGetConvolutionBackwardDataWorkspaceSize;
    private final Downcall cudnnGetConvolutionBackwardFilterWorkspaceSize;
    private final Downcall cudnnConvolutionForward;
    private final Downcall cudnnConvolutionBackwardData;
    private final Downcall cudnnConvolutionBackwardFilter;

    /** Bindings over a loaded {@code libcudnn}; nothing is called yet. */
    public Cudnn(NativeLibrary lib) {
        this.lib = lib;
        cudnnGetVersion = lib.downcall(FunctionDescriptor.of(LONG), "cudnnGetVersion");
        cudnnGetErrorString = lib.downcall(FunctionDescriptor.of(PTR, INT), "cudnnGetErrorString");
        cudnnCreate = lib.downcall(FunctionDescriptor.of(INT, PTR), "cudnnCreate");
        cudnnDestroy = lib.downcall(FunctionDescriptor.of(INT, PTR), "cudnnDestroy");
        cudnnSetStream = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR), "cudnnSetStream");
        cudnnCreateTensorDescriptor = lib.downcall(FunctionDescriptor.of(INT, PTR), "cudnnCreateTensorDescriptor");
        // (desc, format, dataType, n, c, h, w)
        cudnnSetTensor4dDescriptor = lib.downcall(FunctionDescriptor.of(INT, PTR, INT, INT, INT, INT, INT, INT),
                "cudnnSetTensor4dDescriptor");
        cudnnDestroyTensorDescriptor = lib.downcall(FunctionDescriptor.of(INT, PTR), "cudnnDestroyTensorDescriptor");
        cudnnCreateFilterDescriptor = lib.downcall(FunctionDescriptor.of(INT, PTR), "cudnnCreateFilterDescriptor");
        // (desc, dataType, format, k, c, h, w): note dataType before format, unlike the tensor descriptor.
        cudnnSetFilter4dDescriptor = lib.downcall(FunctionDescriptor.of(INT, PTR, INT, INT, INT, INT, INT, INT),
                "cudnnSetFilter4dDescriptor");
        cudnnDestroyFilterDescriptor = lib.downcall(FunctionDescriptor.of(INT, PTR), "cudnnDestroyFilterDescriptor");
        cudnnCreateConvolutionDescriptor = lib.downcall(FunctionDescriptor.of(INT, PTR),
                "cudnnCreateConvolutionDescriptor");
        // (desc, pad_h, pad_w, u, v, dilation_h, dilation_w, mode, computeType)
        cudnnSetConvolution2dDescriptor = lib.downcall(FunctionDescriptor.of(INT, PTR, INT, INT, INT, INT, INT, INT,
                INT, INT), "cudnnSetConvolution2dDescriptor");
        cudnnSetConvolutionGroupCount = lib.downcall(FunctionDescriptor.of(INT, PTR, INT),
                "cudnnSetConvolutionGroupCount");
        cudnnSetConvolutionMathType = lib.downcall(FunctionDescriptor.of(INT, PTR, INT), "cudnnSetConvolutionMathType");
        cudnnDestroyConvolutionDescriptor = lib.downcall(FunctionDescriptor.of(INT, PTR),
                "cudnnDestroyConvolutionDescriptor");
        cudnnGetConvolution2dForwardOutputDim = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, PTR, PTR, PTR,
                PTR), "cudnnGetConvolution2dForwardOutputDim");
        // (handle, xDesc, wDesc, convDesc, yDesc, requested, *returned, perf[])
        cudnnGetConvolutionForwardAlgorithm = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, PTR, PTR, INT,
                PTR, PTR), "cudnnGetConvolutionForwardAlgorithm_v7");
        // (handle, wDesc, dyDesc, convDesc, dxDesc, requested, *returned, perf[])
        cudnnGetConvolutionBackwardDataAlgorithm = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, PTR, PTR,
                INT, PTR, PTR), "cudnnGetConvolutionBackwardDataAlgorithm_v7");
        // (handle, xDesc, dyDesc, convDesc, dwDesc, requested, *returned, perf[])
        cudnnGetConvolutionBackwardFilterAlgorithm = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, PTR, PTR,
                INT, PTR, PTR), "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
        // The Find variants take the same arguments as the _v7 queries, and time each algorithm on the device.
        cudnnFindConvolutionForwardAlgorithm = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, PTR, PTR, INT,
                PTR, PTR), "cudnnFindConvolutionForwardAlgorithm");
        cudnnFindConvolutionBackwardDataAlgorithm = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, PTR, PTR,
                INT, PTR, PTR), "cudnnFindConvolutionBackwardDataAlgorithm");
        cudnnFindConvolutionBackwardFilterAlgorithm = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, PTR, PTR,
                INT, PTR, PTR), "cudnnFindConvolutionBackwardFilterAlgorithm");
        // (handle, xDesc, wDesc, convDesc, yDesc, algo, *size)
        cudnnGetConvolutionForwardWorkspaceSize = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, PTR, PTR,
                INT, PTR), "cudnnGetConvolutionForwardWorkspaceSize");
        // (handle, wDesc, dyDesc, convDesc, dxDesc, algo, *size)
        cudnnGetConvolutionBackwardDataWorkspaceSize = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, PTR,
                PTR, INT, PTR), "cudnnGetConvolutionBackwardDataWorkspaceSize");
        // (handle, xDesc, dyDesc, convDesc, dwDesc, algo, *size)
        cudnnGetConvolutionBackwardFilterWorkspaceSize = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, PTR,
                PTR, INT, PTR), "cudnnGetConvolutionBackwardFilterWorkspaceSize");
        // (handle, *alpha, xDesc, x, wDesc, w, convDesc, algo, workspace, wsBytes, *beta, yDesc, y)
        cudnnConvolutionForward = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, LONG, PTR, LONG, PTR, INT,
                LONG, LONG, PTR, PTR, LONG), "cudnnConvolutionForward");
        // (handle, *alpha, wDesc, w, dyDesc, dy, convDesc, algo, workspace, wsBytes, *beta, dxDesc, dx)
        cudnnConvolutionBackwardData = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, LONG, PTR, LONG, PTR,
                INT, LONG, LONG, PTR, PTR, LONG), "cudnnConvolutionBackwardData");
        // (handle, *alpha, xDesc, x, dyDesc, dy, convDesc, algo, workspace, wsBytes, *beta, dwDesc, dw)
        cudnnConvolutionBackwardFilter = lib.downcall(FunctionDescriptor.of(INT, PTR, PTR, PTR, LONG, PTR, LONG, PTR,
                INT, LONG, LONG, PTR, PTR, LONG), "cudnnConvolutionBackwardFilter");
    }

    /** The library these bindings call. */
    public NativeLibrary library() {
        return lib;
    }

    /** {@code cudnnGetVersion}: e.g. 91400 for 9.14.0. */
    public long version() {
        try {
            return (long) cudnnGetVersion.handle().invokeExact();
        } catch (Throwable t) {
            throw Calls.rethrow(cudnnGetVersion.name(), t);
        }
    }

    /** {@code cudnnGetErrorString}, e.g. {@code CUDNN_STATUS_BAD_PARAM}. */
    public String errorString(int status) {
        try {
            return Types.string((MemorySegment) cudnnGetErrorString.handle().invokeExact(status));
        } catch (Throwable t) {
            return "";
        }
    }

    void check(int status, Downcall call) {
        if (status != 0) {
            throw new CudaException("cuDNN", call.name(), status, errorString(status), "");
        }
    }

    // ---- handle ----

    /** {@code cudnnCreate} (needs a current context). */
    public MemorySegment create() {
        return outPtr(cudnnCreate);
    }

    /** {@code cudnnDestroy}. */
    public void destroy(MemorySegment handle) {
        callPtr(cudnnDestroy, handle);
    }

    /** {@code cudnnSetStream}. */
    public void setStream(MemorySegment handle, MemorySegment stream) {
        int rc;
        try {
            rc = (int) cudnnSetStream.handle().invokeExact(handle, stream);
        } catch (Throwable t) {
            throw Calls.rethrow(cudnnSetStream.name(), t);
        }
        check(rc, cudnnSetStream);
    }

    // ---- descriptors ----

    /** A new NCHW tensor descriptor of {@code dataType}. */
    public MemorySegment tensor4d(int dataType, int n, int c, int h, int w) {
        MemorySegment d = outPtr(cudnnCreateTensorDescriptor);
        int rc;
        try {
            rc = (int) cudnnSetTensor4dDescriptor.handle().invokeExact(d, TENSOR_NCHW, dataType, n, c, h, w);
        } catch (Throwable t) {
            throw Calls.rethrow(cudnnSetTensor4dDescriptor.name(), t);
        }
        if (rc != 0) {
            destroyTensor(d);
        }
        check(rc, cudnnSetTensor4dDescriptor);
        return d;
    }

    /** {@code cudnnDestroyTensorDescriptor}. */
    public void destroyTensor(MemorySegment desc) {
        callPtr(cudnnDestroyTensorDescriptor, desc);
    }

    /** A new NCHW (KCRS) filter descriptor of {@code dataType}. */
    public MemorySegment filter4d(int dataType, int k, int c, int h, int w) {
        MemorySegment d = outPtr(cudnnCreateFilterDescriptor);
        int rc;
        try {
            rc = (int) cudnnSetFilter4dDescriptor.handle().invokeExact(d, dataType, TENSOR_NCHW, k, c, h, w);
        } catch (Throwable t) {
            throw Calls.rethrow(cudnnSetFilter4dDescriptor.name(), t);
        }
        if (rc != 0) {
            destroyFilter(d);
        }
        check(rc, cudnnSetFilter4dDescriptor);
        return d;
    }

    /** {@code cudnnDestroyFilterDescriptor}. */
    public void destroyFilter(MemorySegment desc) {
        callPtr(cudnnDestroyFilterDescriptor, desc);
    }

    /** A new 2-D cross-correlation descriptor with float32 accumulation, {@code groups} groups, and a math type. */
    public MemorySegment convolution2d(int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
                                       int groups, int mathType) {
        MemorySegment d = outPtr(cudnnCreateConvolutionDescriptor);
        try {
            int rc = (int) cudnnSetConvolution2dDescriptor.handle().invokeExact(d, padH, padW, strideH, strideW,
                    dilationH, dilationW, CROSS_CORRELATION, DATA_FLOAT);
            check(rc, cudnnSetConvolution2dDescriptor);
            rc = (int) cudnnSetConvolutionGroupCount.handle().invokeExact(d, groups);
            check(rc, cudnnSetConvolutionGroupCount);
            setMathType(d, mathType);
            return d;
        } catch (Throwable t) {
            destroyConvolution(d);
            throw Calls.rethrow(cudnnSetConvolution2dDescriptor.name(), t);
        }
    }

    /** {@code cudnnSetConvolutionMathType}. */
    public void setMathType(MemorySegment conv, int mathType) {
        int rc;
        try {
            rc = (int) cudnnSetConvolutionMathType.handle().invokeExact(conv, mathType);
        } catch (Throwable t) {
            throw Calls.rethrow(cudnnSetConvolutionMathType.name(), t);
        }
        check(rc, cudnnSetConvolutionMathType);
    }

    /** {@code cudnnDestroyConvolutionDescriptor}. */
    public void destroyConvolution(MemorySegment desc) {
        callPtr(cudnnDestroyConvolutionDescriptor, desc);
    }

    /** {@code cudnnGetConvolution2dForwardOutputDim}: {n, c, h, w} of the output. */
    public int[] forwardOutputDim(MemorySegment conv, MemorySegment x, MemorySegment w) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(INT, 4);
            int rc = (int) cudnnGetConvolution2dForwardOutputDim.handle().invokeExact(conv, x, w,
                    out.asSlice(0, 4), out.asSlice(4, 4), out.asSlice(8, 4), out.asSlice(12, 4));
            check(rc, cudnnGetConvolution2dForwardOutputDim);
            return out.toArray(INT);
        } catch (Throwable t) {
            throw Calls.rethrow(cudnnGetConvolution2dForwardOutputDim.name(), t);
        }
    }

    // ---- algorithm choice ----

    /** {@code cudnnGetConvolutionForwardAlgorithm_v7}: heuristics' ranking, best first. */
    public AlgoPerf[] forwardAlgorithms(MemorySegment handle, MemorySegment x, MemorySegment w, MemorySegment conv,
                                        MemorySegment y) {
        return ranked(cudnnGetConvolutionForwardAlgorithm, FWD_ALGO_COUNT, handle, x, w, conv, y);
    }

    /**
     * {@code cudnnFindConvolutionForwardAlgorithm}: every algorithm run and timed on the device (it allocates its own
     * memory and synchronises; never during stream capture), fastest first.
     */
    public AlgoPerf[] forwardAlgorithmsTimed(MemorySegment handle, MemorySegment x, MemorySegment w,
                                             MemorySegment conv, MemorySegment y) {
        return ranked(cudnnFindConvolutionForwardAlgorithm, FWD_ALGO_COUNT, handle, x, w, conv, y);
    }

    /** {@code cudnnFindConvolutionBackwardDataAlgorithm} (see {@link #forwardAlgorithmsTimed}). */
    public AlgoPerf[] backwardDataAlgorithmsTimed(MemorySegment handle, MemorySegment w, MemorySegment dy,
                                                  MemorySegment conv, MemorySegment dx) {
        return ranked(cudnnFindConvolutionBackwardDataAlgorithm, BWD_DATA_ALGO_COUNT, handle, w, dy, conv, dx);
    }

    /** {@code cudnnFindConvolutionBackwardFilterAlgorithm} (see {@link #forwardAlgorithmsTimed}). */
    public AlgoPerf[] backwardFilterAlgorithmsTimed(MemorySegment handle, MemorySegment x, MemorySegment dy,
                                                    MemorySegment conv, MemorySegment dw) {
        return ranked(cudnnFindConvolutionBackwardFilterAlgorithm, BWD_FILTER_ALGO_COUNT, handle, x, dy, conv, dw);
    }

    /** {@code cudnnGetConvolutionBackwardDataAlgorithm_v7}. */
    public AlgoPerf[] backwardDataAlgorithms(MemorySegment handle, MemorySegment w, MemorySegment dy,
                                             MemorySegment conv, MemorySegment dx) {
        return ranked(cudnnGetConvolutionBackwardDataAlgorithm, BWD_DATA_ALGO_COUNT, handle, w, dy, conv, dx);
    }

    /** {@code cudnnGetConvolutionBackwardFilterAlgorithm_v7}. */
    public AlgoPerf[] backwardFilterAlgorithms(MemorySegment handle, MemorySegment x, MemorySegment dy,
                                               MemorySegment conv, MemorySegment dw) {
        return ranked(cudnnGetConvolutionBackwardFilterAlgorithm, BWD_FILTER_ALGO_COUNT, handle, x, dy, conv, dw);
    }

    private AlgoPerf[] ranked(Downcall d, int count, MemorySegment handle, MemorySegment a0, MemorySegment a1,
                              MemorySegment conv, MemorySegment a3) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment returned = a.allocate(INT);
            MemorySegment perf = a.allocate(AlgoPerf.LAYOUT, count);
            int rc = (int) d.handle().invokeExact(handle, a0, a1, conv, a3, count, returned, perf);
            check(rc, d);
            return AlgoPerf.read(perf, returned.get(INT, 0));
        } catch (Throwable t) {
            throw Calls.rethrow(d.name(), t);
        }
    }

    /** {@code cudnnGetConvolutionForwardWorkspaceSize}. */
    public long forwardWorkspace(MemorySegment handle, MemorySegment x, MemorySegment w, MemorySegment conv,
                                 MemorySegment y, int algo) {
        return workspace(cudnnGetConvolutionForwardWorkspaceSize, handle, x, w, conv, y, algo);
    }

    /** {@code cudnnGetConvolutionBackwardDataWorkspaceSize}. */
    public long backwardDataWorkspace(MemorySegment handle, MemorySegment w, MemorySegment dy, MemorySegment conv,
                                      MemorySegment dx, int algo) {
        return workspace(cudnnGetConvolutionBackwardDataWorkspaceSize, handle, w, dy, conv, dx, algo);
    }

    /** {@code cudnnGetConvolutionBackwardFilterWorkspaceSize}. */
    public long backwardFilterWorkspace(MemorySegment handle, MemorySegment x, MemorySegment dy, MemorySegment conv,
                                        MemorySegment dw, int algo) {
        return workspace(cudnnGetConvolutionBackwardFilterWorkspaceSize, handle, x, dy, conv, dw, algo);
    }

    private long workspace(Downcall d, MemorySegment handle, MemorySegment a0, MemorySegment a1, MemorySegment conv,
                           MemorySegment a3, int algo) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment size = a.allocate(LONG);
            int rc = (int) d.handle().invokeExact(handle, a0, a1, conv, a3, algo, size);
            check(rc, d);
            return size.get(LONG, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(d.name(), t);
        }
    }

    // ---- convolutions ----

    /** {@code cudnnConvolutionForward}: {@code y = alpha conv(x, w) + beta y}. */
    public void forward(MemorySegment handle, float alpha, MemorySegment xDesc, long x, MemorySegment wDesc, long w,
                        MemorySegment conv, int algo, long workspace, long workspaceBytes, float beta,
                        MemorySegment yDesc, long y) {
        run(cudnnConvolutionForward, handle, alpha, xDesc, x, wDesc, w, conv, algo, workspace, workspaceBytes, beta,
                yDesc, y);
    }

    /** {@code cudnnConvolutionBackwardData}: {@code dx = alpha convᵀ(dy, w) + beta dx}. */
    public void backwardData(MemorySegment handle, float alpha, MemorySegment wDesc, long w, MemorySegment dyDesc,
                             long dy, MemorySegment conv, int algo, long workspace, long workspaceBytes, float beta,
                             MemorySegment dxDesc, long dx) {
        run(cudnnConvolutionBackwardData, handle, alpha, wDesc, w, dyDesc, dy, conv, algo, workspace, workspaceBytes,
                beta, dxDesc, dx);
    }

    /** {@code cudnnConvolutionBackwardFilter}: {@code dw = alpha ∂conv/∂w (x, dy) + beta dw}. */
    public void backwardFilter(MemorySegment handle, float alpha, MemorySegment xDesc, long x, MemorySegment dyDesc,
                               long dy, MemorySegment conv, int algo, long workspace, long workspaceBytes,
                               float beta, MemorySegment dwDesc, long dw) {
        run(cudnnConvolutionBackwardFilter, handle, alpha, xDesc, x, dyDesc, dy, conv, algo, workspace,
                workspaceBytes, beta, dwDesc, dw);
    }

    private void run(Downcall d, MemorySegment handle, float alpha, MemorySegment aDesc, long a, MemorySegment bDesc,
                     long b, MemorySegment conv, int algo, long ws, long wsBytes, float beta, MemorySegment outDesc,
                     long out) {
        try (Arena ar = Arena.ofConfined()) {
            MemorySegment al = ar.allocateFrom(Types.FLOAT, alpha);
            MemorySegment be = ar.allocateFrom(Types.FLOAT, beta);
            int rc = (int) d.handle().invokeExact(handle, al, aDesc, a, bDesc, b, conv, algo, ws, wsBytes, be,
                    outDesc, out);
            check(rc, d);
        } catch (Throwable t) {
            throw Calls.rethrow(d.name(), t);
        }
    }

    // ---- call shapes ----

    private MemorySegment outPtr(Downcall d) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(PTR);
            int rc = (int) d.handle().invokeExact(out);
            check(rc, d);
            return out.get(PTR, 0);
        } catch (Throwable t) {
            throw Calls.rethrow(d.name(), t);
        }
    }

    private void callPtr(Downcall d, MemorySegment arg) {
        int rc;
        try {
            rc = (int) d.handle().invokeExact(arg);
        } catch (Throwable t) {
            throw Calls.rethrow(d.name(), t);
        }
        check(rc, d);
    }
}
