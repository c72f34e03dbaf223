package dev.tandem.cuda.dnn;

import dev.tandem.cuda.driver.DeviceBuffer;
import dev.tandem.cuda.ffm.NativeResource;
import java.lang.foreign.MemorySegment;

/**
 * One convolution shape planned for cuDNN: its tensor, filter and convolution descriptors, and the forward,
 * backward-data and backward-filter algorithms chosen once by cuDNN's heuristics ({@code _v7}), with the workspace
 * each needs. Owned by the {@link CudnnHandle} that made it. NCHW data in float32, or in bfloat16 (inputs, weights
 * and outputs 2 bytes each, accumulated in float32 on tensor cores) for a handle made for bfloat16.
 */
public final class CudnnConvolution extends NativeResource {
    private final Cudnn cudnn;
    private final MemorySegment handle;
    private final ConvShape shape;
    private final MemorySegment x;
    private final MemorySegment w;
    private final MemorySegment y;
    private final MemorySegment conv;
    private final AlgoPerf forward;
    private final AlgoPerf backwardData;
    private final AlgoPerf backwardFilter;
    private final long forwardWorkspace;
    private final long backwardDataWorkspace;
    private final long backwardFilterWorkspace;

    CudnnConvolution(Cudnn cudnn, MemorySegment handle, ConvShape s, boolean tf32, long maxWorkspace, boolean timed) {
        this(cudnn, handle, s, tf32, false, maxWorkspace, timed);
    }

    /** As above; {@code bf16}: bfloat16 data with float32 accumulation (tensor cores allowed whatever {@code tf32}). */
    CudnnConvolution(Cudnn cudnn, MemorySegment handle, ConvShape s, boolean tf32, boolean bf16, long maxWorkspace,
                     boolean timed) {
        this.cudnn = cudnn;
        this.handle = handle;
        this.shape = s;
        MemorySegment xd = null;
        MemorySegment wd = null;
        MemorySegment cd = null;
        MemorySegment yd = null;
        try {
            int data = bf16 ? Cudnn.DATA_BFLOAT16 : Cudnn.DATA_FLOAT;
            xd = cudnn.tensor4d(data, s.n(), s.c(), s.h(), s.w());
            wd = cudnn.filter4d(data, s.k(), s.c() / s.groups(), s.r(), s.s());
            // The convolution's own type is the accumulation's: float32 for both (cuDNN's "pseudo-bfloat16" config).
            cd = cudnn.convolution2d(s.padH(), s.padW(), s.strideH(), s.strideW(), s.dilationH(), s.dilationW(),
                    s.groups(), tf32 || bf16 ? Cudnn.DEFAULT_MATH : Cudnn.FMA_MATH);
            int[] out = cudnn.forwardOutputDim(cd, xd, wd);
            if (out[0] != s.n() || out[1] != s.k() || out[2] != s.outH() || out[3] != s.outW()) {
                throw new IllegalStateException("cuDNN computes output " + java.util.Arrays.toString(out) + " for "
                        + s + "; Tandem expects [" + s.n() + ", " + s.k() + ", " + s.outH() + ", " + s.outW() + "]");
            }
            yd = cudnn.tensor4d(data, out[0], out[1], out[2], out[3]);
            // Without TF32, full float32 is asked for: only FMA math, and no FFT or Winograd algorithms (their
            // transforms lose several digits), so that results match the CPU's to rounding.
            boolean any = tf32 || bf16;
            java.util.function.Predicate<AlgoPerf> fwdOk = p -> any || (p.mathType() == Cudnn.FMA_MATH
                    && p.algo() <= 3);
            java.util.function.Predicate<AlgoPerf> bwdDataOk = p -> any || (p.mathType() == Cudnn.FMA_MATH
                    && p.algo() <= 1);
            java.util.function.Predicate<AlgoPerf> bwdFilterOk = p -> any || (p.mathType() == Cudnn.FMA_MATH
                    && (p.algo() <= 1 || p.algo() == 3));
            this.forward = AlgoPerf.choose(timed ? cudnn.forwardAlgorithmsTimed(handle, xd, wd, cd, yd)
                    : cudnn.forwardAlgorithms(handle, xd, wd, cd, yd), maxWorkspace, false, "forward", fwdOk);
            this.backwardData = AlgoPerf.choose(timed ? cudnn.backwardDataAlgorithmsTimed(handle, wd, yd, cd, xd)
                    : cudnn.backwardDataAlgorithms(handle, wd, yd, cd, xd), maxWorkspace, false, "backward-data",
                    bwdDataOk);
            this.backwardFilter = AlgoPerf.choose(timed ? cudnn.backwardFilterAlgorithmsTimed(handle, xd, yd, cd, wd)
                    : cudnn.backwardFilterAlgorithms(handle, xd, yd, cd, wd), maxWorkspace, false, "backward-filter",
                    bwdFilterOk);
            // Each size is asked for under the math type its pass will run with (an algorithm's kernel, and so its
            // workspace, depends on both), and is at least what the algorithm's ranking said it needs.
            cudnn.setMathType(cd, forward.mathType());
            this.forwardWorkspace = Math.max(forward.memory(),
                    cudnn.forwardWorkspace(handle, xd, wd, cd, yd, forward.algo()));
            cudnn.setMathType(cd, backwardData.mathType());
            this.backwardDataWorkspace = Math.max(backwardData.memory(),
                    cudnn.backwardDataWorkspace(handle, wd, yd, cd, xd, backwardData.algo()));
            cudnn.setMathType(cd, backwardFilter.mathType());
            this.backwardFilterWorkspace = Math.max(backwardFilter.memory(),
                    cudnn.backwardFilterWorkspace(handle, xd, yd, cd, wd, backwardFilter.algo()));
        } catch (RuntimeException e) {
            destroy(cudnn, xd, yd, wd, cd);
            throw e;
        }
        this.x = xd;
        this.w = wd;
        this.conv = cd;
        this.y = yd;
    }

    private static void destroy(Cudnn cudnn, MemorySegment x, MemorySegment y, MemorySegment w, MemorySegment conv) {
        if (x != null) {
            cudnn.destroyTensor(x);
        }
        if (y != null) {
            cudnn.destroyTensor(y);
        }
        if (w != null) {
            cudnn.destroyFilter(w);
        }
        if (conv != null) {
            cudnn.destroyConvolution(conv);
        }
    }

    /** The shape planned. */
    public ConvShape shape() {
        return shape;
    }

    /** The algorithms chosen: forward, backward data, backward filter. */
    public AlgoPerf[] algorithms() {
        return new AlgoPerf[] {forward, backwardData, backwardFilter};
    }

    /** The largest workspace any of the three passes needs. */
    public long workspaceBytes() {
        return Math.max(forwardWorkspace, Math.max(backwardDataWorkspace, backwardFilterWorkspace));
    }

    /** {@code y = conv(x, w)}. */
    public void forward(DeviceBuffer xData, DeviceBuffer wData, DeviceBuffer yData, DeviceBuffer workspace) {
        checkOpen();
        cudnn.setMathType(conv, forward.mathType());
        cudnn.forward(handle, 1f, x, xData.address(), w, wData.address(), conv, forward.algo(), address(workspace),
                forwardWorkspace, 0f, y, yData.address());
    }

    /** {@code dx = ∂L/∂x} from {@code dy} and the weights. */
    public void backwardData(DeviceBuffer wData, DeviceBuffer dy, DeviceBuffer dx, DeviceBuffer workspace) {
        checkOpen();
        cudnn.setMathType(conv, backwardData.mathType());
        cudnn.backwardData(handle, 1f, w, wData.address(), y, dy.address(), conv, backwardData.algo(),
                address(workspace), backwardDataWorkspace, 0f, x, dx.address());
    }

    /** {@code dw = ∂L/∂w} from the input and {@code dy}; {@code accumulate} adds to dw instead of overwriting. */
    public void backwardFilter(DeviceBuffer xData, DeviceBuffer dy, DeviceBuffer dw, DeviceBuffer workspace,
                               boolean accumulate) {
        checkOpen();
        cudnn.setMathType(conv, backwardFilter.mathType());
        cudnn.backwardFilter(handle, 1f, x, xData.address(), y, dy.address(), conv, backwardFilter.algo(),
                address(workspace), backwardFilterWorkspace, accumulate ? 1f : 0f, w, dw.address());
    }

    private long address(DeviceBuffer workspace) {
        if (workspaceBytes() == 0) {
            return 0;
        }
        if (workspace == null || workspace.bytes() < workspaceBytes()) {
            throw new IllegalArgumentException("convolution " + shape + " needs a workspace of " + workspaceBytes()
                    + " bytes");
        }
        return workspace.address();
    }

    @Override
    protected String describe() {
        return "cuDNN convolution " + shape;
    }

    @Override
    protected void release() {
        destroy(cudnn, x, y, w, conv);
    }
}
