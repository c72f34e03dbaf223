package dev.tandem.cuda.exec;

import dev.tandem.cuda.dnn.ConvShape;
import dev.tandem.cuda.dnn.CudnnConvolution;
import dev.tandem.cuda.driver.DeviceBuffer;
import dev.tandem.cuda.driver.Dim3;
import dev.tandem.cuda.driver.KernelArgs;
import dev.tandem.runtime.InvalidInputException;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.plan.ExecutionPlan.PlannedStep;
import dev.tandem.runtime.plan.ExecutionPlan.PlannedValue;
import dev.tandem.runtime.plan.ExecutionPlan.Placement;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * How each op of a planned graph runs on the GPU: cuDNN for convolutions (forward and both gradients), cuBLAS for
 * Gemm/MatMul, and Tandem's kernels for the rest. {@link #whyUnsupported} says, before anything is allocated, why a
 * step cannot run here (op, dtype, attribute); {@link #compile} turns the steps into launches on the session's
 * stream with every device address fixed, so that they can be captured as a CUDA graph.
 *
 * <p>Float32 data only (int64 labels and bookkeeping where an op needs them); NCHW 2-D convolution and pooling with
 * symmetric padding.
 */
final class GpuOps {
    private static final int BLOCK = 256;

    private GpuOps() {
    }

    /** An optimizer step's norm output, checked for finiteness after each run (the CPU op throws). */
    record NormCheck(int value, String node) {
    }

    /** The launches of a plan under one binding, and what the plan must do around them. */
    record Compiled(List<Runnable> launches, List<String> labels, int[] writtenInputs, List<NormCheck> normChecks,
                    Consumer<Tensor[]> checks) {
    }

    /** Thrown while looking at a step that cannot run on the GPU. */
    static final class Unsupported extends RuntimeException {
        Unsupported(String why) {
            super(why, null, false, false);
        }
    }

    /** Emits one step's launches. */
    private interface Emitter {
        void emit(Build b);
    }

    /** What a step's emitter works with. */
    static final class Build {
        final CudaPlan p;
        final List<Runnable> out = new ArrayList<>();
        final List<String> labels = new ArrayList<>();
        final List<Integer> written = new ArrayList<>();
        final List<NormCheck> norms = new ArrayList<>();
        final List<Consumer<Tensor[]>> checks = new ArrayList<>();
        final List<PlannedValue> values;
        long workspace;
        final DeviceBuffer[] ws = new DeviceBuffer[1];
        /** In a bfloat16 session: where convolutions and matrix products stage their operands' bfloat16 copies. */
        DeviceBuffer staging;
        PlannedStep step;

        Build(CudaPlan p, List<PlannedValue> values) {
            this.p = p;
            this.values = values;
        }

        int in(int i) {
            return step.inputs()[i];
        }

        /** Adds one launch of the current step. */
        void add(Runnable launch) {
            add(launch, null);
        }

        /** Adds one launch of the current step, labelled with {@code what} (a kernel's name) in profiles. */
        void add(Runnable launch, String what) {
            out.add(launch);
            labels.add(step.node().opType() + " " + step.node().name() + (what == null ? "" : " " + what));
        }

        int out(int i) {
            return step.outputs()[i];
        }

        long addr(int v) {
            return p.address(v);
        }

        DeviceBuffer buf(int v) {
            return p.buffer(v);
        }

        Shape shape(int v) {
            return values.get(v).shape();
        }

        KernelArgs args() {
            return new KernelArgs(p.argArena());
        }

        void kernel(String name, Dim3 grid, Dim3 block, KernelArgs args) {
            var lib = p.session().kernels();
            var stream = p.session().stream();
            add(() -> lib.launch(name, grid, block, stream, args), name.replaceFirst("^tandem_", ""));
        }

        /** A grid-stride kernel over {@code n} items. */
        void elementwise(String name, long n, KernelArgs args) {
            kernel(name, Dim3.of((int) Math.max(1, Math.min(2048, (n + BLOCK - 1) / BLOCK))), Dim3.of(BLOCK), args);
        }

        void copy(int from, int to) {
            long n = CudaPlan.bytes(values.get(to));
            if (n == 0 || p.address(from) == p.address(to)) {
                return;
            }
            DeviceBuffer src = buf(from), dst = buf(to);
            var stream = p.session().stream();
            add(() -> dst.copyFromAsync(src, n, stream));
        }

        /** Marks input {@code i} of the step (a graph input) as written in place. */
        void writes(int i) {
            int v = in(i);
            if (values.get(v).placement() == Placement.INPUT) {
                written.add(values.get(v).input());
            }
        }

        DeviceBuffer workspace() {
            return ws[0];
        }

        /** Launches {@code y = bfloat16(x)} over {@code n} values. */
        void toBf16(long x, DeviceBuffer y, long n) {
            elementwise("tandem_f32_to_bf16", n, args().pointer(x).pointer(y.address()).i64(n));
        }

        /** Launches {@code y = float(x)} over {@code n} bfloat16 values. */
        void fromBf16(DeviceBuffer x, long y, long n) {
            elementwise("tandem_bf16_to_f32", n, args().pointer(x.address()).pointer(y).i64(n));
        }

        /**
         * Views of the staging buffer for the bfloat16 copies of {@code values} (2 bytes an element, each at a
         * 256-byte boundary); every step reuses the same buffer, since the stream runs one step at a time.
         */
        DeviceBuffer[] halves(int... values) {
            DeviceBuffer[] out = new DeviceBuffer[values.length];
            long at = 0;
            for (int i = 0; i < values.length; i++) {
                long bytes = 2 * shape(values[i]).size();
                out[i] = staging.view(at, Math.max(2, bytes));
                at += align(bytes);
            }
            return out;
        }
    }

    private static long align(long bytes) {
        return (Math.max(2, bytes) + 255) / 256 * 256;
    }

    /** Staging bytes {@link Build#halves} needs for a step in a bfloat16 session: its two operands and its result. */
    static long stagingBytes(PlannedStep st, List<PlannedValue> values) {
        return switch (st.node().opType()) {
            case "Conv", "ConvGradInput", "ConvGradWeight", "Gemm", "MatMul" ->
                    align(2 * values.get(st.inputs()[0]).shape().size())
                            + align(2 * values.get(st.inputs()[1]).shape().size())
                            + align(2 * values.get(st.outputs()[0]).shape().size());
            default -> 0;
        };
    }

    /** Why {@code step} cannot run on the GPU, or null when it can. */
    static String whyUnsupported(PlannedStep step, List<PlannedValue> values) {
        try {
            emitter(step, values);
            return null;
        } catch (Unsupported e) {
            return e.getMessage();
        }
    }

    static Compiled compile(CudaPlan p, List<PlannedStep> steps, List<PlannedValue> values) {
        Build b = new Build(p, values);
        List<Emitter> emitters = new ArrayList<>();
        for (PlannedStep st : steps) {
            emitters.add(emitter(st, values));
        }
        if (p.session().bf16()) {
            long staging = 0;
            for (PlannedStep st : steps) {
                staging = Math.max(staging, stagingBytes(st, values));
            }
            if (staging > 0) {
                b.staging = p.scratch(staging);
            }
        }
        // Plan every convolution first so that the shared cuDNN workspace has its final size before launches exist.
        for (int i = 0; i < steps.size(); i++) {
            b.step = steps.get(i);
            emitters.get(i).emit(b);
        }
        if (b.workspace > 0) {
            b.ws[0] = p.scratch(b.workspace);
        }
        List<Consumer<Tensor[]>> checks = List.copyOf(b.checks);
        return new Compiled(List.copyOf(b.out), List.copyOf(b.labels), b.written.stream().mapToInt(Integer::intValue).distinct().toArray(),
                List.copyOf(b.norms), checks.isEmpty() ? null : t -> checks.forEach(c -> c.accept(t)));
    }

    // ---- attributes ----

    static long attrInt(Node n, String name, long dflt) {
        Attribute a = n.attributes().get(name);
        return a != null && a.value() instanceof Long l ? l : dflt;
    }

    static float attrFloat(Node n, String name, float dflt) {
        Attribute a = n.attributes().get(name);
        if (a == null) {
            return dflt;
        }
        return a.value() instanceof Float f ? f : a.value() instanceof Long l ? l : dflt;
    }

    static long[] attrInts(Node n, String name) {
        Attribute a = n.attributes().get(name);
        return a != null && a.value() instanceof long[] v ? v : null;
    }

    /**
     * Refuses a batch norm carrying a fused Relu ({@code BatchNormReluFusion}, which the training step applies only on
     * the CPU): the CUDA kernels would ignore it.
     */
    private static void noFusedActivation(Node n) {
        if (!attrString(n, "activation", "").isEmpty()) {
            throw new Unsupported(n.opType() + " with a fused activation (the CPU's BatchNormReluFusion)");
        }
    }

    static String attrString(Node n, String name, String dflt) {
        Attribute a = n.attributes().get(name);
        if (a == null) {
            return dflt;
        }
        return a.value() instanceof String s ? s : a.value() instanceof byte[] bs ? new String(bs,
                java.nio.charset.StandardCharsets.UTF_8) : dflt;
    }

    private static void requireFloat(PlannedStep st, List<PlannedValue> values, int... inputs) {
        for (int i : inputs) {
            int v = st.inputs()[i];
            if (v >= 0 && values.get(v).dtype() != DType.FLOAT32) {
                throw new Unsupported("input " + i + " is " + values.get(v).dtype() + "; the GPU runs float32");
            }
        }
    }

    private static boolean isAlias(PlannedStep st, List<PlannedValue> values) {
        return st.outputs().length > 0 && values.get(st.outputs()[0]).placement() == Placement.ALIAS;
    }

    // ---- the ops ----

    private static Emitter emitter(PlannedStep st, List<PlannedValue> values) {
        Node node = st.node();
        String op = node.opType();
        int[] in = st.inputs();
        if (isAlias(st, values)) {
            return b -> { };
        }
        require32(st, values);
        switch (op) {
            case "Identity", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Dropout" -> {
                return b -> b.copy(b.in(0), b.out(0));
            }
            case "Cast", "CastLike" -> {
                DType from = values.get(in[0]).dtype(), to = values.get(st.outputs()[0]).dtype();
                if (from == to) {
                    return b -> b.copy(b.in(0), b.out(0));
                }
                if (values.get(in[0]).placement() == Placement.CONST && (to == DType.FLOAT32 || to == DType.INT64)) {
                    // A constant (autodiff's float64 gradient seed): converted once on the host, copied each run.
                    Tensor c = values.get(in[0]).constant();
                    return b -> {
                        long count = n(b, b.out(0));
                        DeviceBuffer conv = b.p.scratch(count * to.byteSize());
                        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
                            java.lang.foreign.MemorySegment m = a.allocate(Math.max(4, count * to.byteSize()));
                            for (long i = 0; i < count; i++) {
                                if (to == DType.FLOAT32) {
                                    m.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i,
                                            (float) dev.tandem.runtime.ops.Elements.getDouble(c, i));
                                } else {
                                    m.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i,
                                            dev.tandem.runtime.ops.Elements.getLong(c, i));
                                }
                            }
                            conv.copyFrom(m.asSlice(0, count * to.byteSize()));
                        }
                        DeviceBuffer dst = b.buf(b.out(0));
                        var stream = b.p.session().stream();
                        long bytes = count * to.byteSize();
                        b.add(() -> dst.copyFromAsync(conv, bytes, stream));
                    };
                }
                if (from == DType.BOOL && to == DType.INT64) {
                    return b -> b.elementwise("tandem_bool_to_i64", n(b, b.out(0)), b.args().pointer(b.addr(b.in(0)))
                            .pointer(b.addr(b.out(0))).i64(n(b, b.out(0))));
                }
                throw new Unsupported("cast from " + from + " to " + to);
            }
            case "Relu" -> {
                requireFloat(st, values, 0);
                return b -> b.elementwise("tandem_relu", n(b, b.out(0)), b.args().pointer(b.addr(b.in(0)))
                        .pointer(b.addr(b.out(0))).i64(n(b, b.out(0))));
            }
            case "Clip" -> {
                requireFloat(st, values, 0);
                float[] b = clipBounds(st, values, node, 1);
                return bb -> bb.elementwise("tandem_clip", n(bb, bb.out(0)), bb.args().pointer(bb.addr(bb.in(0)))
                        .pointer(bb.addr(bb.out(0))).i64(n(bb, bb.out(0))).f32(b[0]).f32(b[1]));
            }
            case "Sum" -> {
                for (int i = 0; i < in.length; i++) {
                    requireFloat(st, values, i);
                    if (!values.get(in[i]).shape().equals(values.get(st.outputs()[0]).shape())) {
                        throw new Unsupported("Sum with broadcasting");
                    }
                }
                if (in.length == 1) {
                    return b -> b.copy(b.in(0), b.out(0));
                }
                return b -> {
                    long count = n(b, b.out(0));
                    b.elementwise("tandem_add", count, b.args().pointer(b.addr(b.in(0))).pointer(b.addr(b.in(1)))
                            .pointer(b.addr(b.out(0))).i64(count));
                    for (int i = 2; i < b.step.inputs().length; i++) {
                        b.elementwise("tandem_add", count, b.args().pointer(b.addr(b.out(0)))
                                .pointer(b.addr(b.in(i))).pointer(b.addr(b.out(0))).i64(count));
                    }
                };
            }
            case "ActivationGrad" -> {
                String act = attrString(node, "activation", "");
                if (act.equals("Clip") && in.length > 1 && in[1] >= 0) {
                    requireFloat(st, values, 0, 1);
                    float[] b = clipBounds(st, values, node, 3);
                    return bb -> bb.elementwise("tandem_clip_grad", n(bb, bb.out(0)), bb.args()
                            .pointer(bb.addr(bb.in(0))).pointer(bb.addr(bb.in(1))).pointer(bb.addr(bb.out(0)))
                            .i64(n(bb, bb.out(0))).f32(b[0]).f32(b[1]));
                }
                if (!act.equals("Relu") || in.length < 3 || in[2] < 0) {
                    throw new Unsupported("activation gradient of '" + act + "' (only Relu from its output)");
                }
                requireFloat(st, values, 0, 2);
                return b -> b.elementwise("tandem_relu_grad", n(b, b.out(0)), b.args().pointer(b.addr(b.in(0)))
                        .pointer(b.addr(b.in(2))).pointer(b.addr(b.out(0))).i64(n(b, b.out(0))));
            }
            case "Add", "Mul", "Sub" -> {
                requireFloat(st, values, 0, 1);
                Shape a = values.get(in[0]).shape(), c = values.get(in[1]).shape();
                if (!a.equals(c)) {
                    throw new Unsupported("broadcasting " + a + " with " + c + " (only equal shapes)");
                }
                if (op.equals("Sub")) {
                    return b -> {
                        b.copy(b.in(0), b.out(0));
                        b.elementwise("tandem_axpy", n(b, b.out(0)), b.args().f32(-1f).pointer(b.addr(b.in(1)))
                                .pointer(b.addr(b.out(0))).i64(n(b, b.out(0))));
                    };
                }
                String k = op.equals("Add") ? "tandem_add" : "tandem_mul";
                return b -> b.elementwise(k, n(b, b.out(0)), b.args().pointer(b.addr(b.in(0)))
                        .pointer(b.addr(b.in(1))).pointer(b.addr(b.out(0))).i64(n(b, b.out(0))));
            }
            case "Conv", "ConvGradInput", "ConvGradWeight" -> {
                return conv(st, values, op);
            }
            case "BatchNormTrain" -> {
                noFusedActivation(node);
                requireFloat(st, values, 0, 1, 2, 3, 4);
                Shape x = values.get(in[0]).shape();
                if (x.rank() != 4) {
                    throw new Unsupported("batch norm over rank " + x.rank() + " (only NCHW)");
                }
                float eps = attrFloat(node, "epsilon", 1e-5f), mom = attrFloat(node, "momentum", 0.1f);
                return b -> {
                    Shape s = b.shape(b.in(0));
                    int ch = s.dim(1), batch = s.dim(0), plane = s.dim(2) * s.dim(3);
                    int splits = splits(batch, ch);
                    long m = (long) batch * plane;
                    DeviceBuffer partial = b.p.scratch(16L * ch * splits); // two doubles per block
                    DeviceBuffer low = b.p.scratch(4L * ch);
                    long xa = b.addr(b.in(0)), mean = b.addr(b.out(1)), inv = b.addr(b.out(2));
                    b.kernel("tandem_bn_stats_partial", Dim3.of(ch, splits), Dim3.of(BLOCK), b.args().pointer(xa)
                            .pointer(partial.address()).i32(batch).i32(ch).i32(plane).i32(splits));
                    b.kernel("tandem_bn_stats_final", Dim3.of(ch), Dim3.of(32), b.args().pointer(partial.address())
                            .pointer(xa).pointer(mean).pointer(low.address()).pointer(inv).pointer(b.addr(b.in(3)))
                            .pointer(b.addr(b.in(4))).i32(ch).i32(splits).i32(plane).i64(m).f32(eps).f32(mom));
                    b.elementwise("tandem_bn_apply", s.size(), b.args().pointer(xa).pointer(b.addr(b.out(0)))
                            .pointer(b.addr(b.in(1))).pointer(b.addr(b.in(2))).pointer(mean).pointer(low.address())
                            .pointer(inv).i32(ch).i32(plane).i64(s.size()));
                    b.writes(3);
                    b.writes(4);
                };
            }
            case "BatchNormGrad" -> {
                noFusedActivation(node);
                requireFloat(st, values, 0, 1, 2, 3, 4);
                if (values.get(in[1]).shape().rank() != 4) {
                    throw new Unsupported("batch norm over rank " + values.get(in[1]).shape().rank());
                }
                return b -> {
                    Shape s = b.shape(b.in(1));
                    int ch = s.dim(1), batch = s.dim(0), plane = s.dim(2) * s.dim(3);
                    int splits = splits(batch, ch);
                    DeviceBuffer partial = b.p.scratch(8L * ch * splits);
                    long dy = b.addr(b.in(0)), xa = b.addr(b.in(1)), mean = b.addr(b.in(3)), inv = b.addr(b.in(4));
                    b.kernel("tandem_bn_bwd_partial", Dim3.of(ch, splits), Dim3.of(BLOCK), b.args().pointer(dy)
                            .pointer(xa).pointer(mean).pointer(inv).pointer(partial.address()).i32(batch).i32(ch)
                            .i64(plane).i32(splits));
                    b.kernel("tandem_bn_bwd_sums", Dim3.of(ch), Dim3.of(32), b.args().pointer(partial.address())
                            .pointer(b.addr(b.out(1))).pointer(b.addr(b.out(2))).i32(ch).i32(splits));
                    b.elementwise("tandem_bn_bwd_apply", s.size(), b.args().pointer(dy).pointer(xa)
                            .pointer(b.addr(b.in(2))).pointer(mean).pointer(inv).pointer(b.addr(b.out(1)))
                            .pointer(b.addr(b.out(2))).pointer(b.addr(b.out(0))).i32(ch).i32(plane).i64(s.size())
                            .i64((long) batch * plane));
                };
            }
            case "BatchNormalization" -> {
                requireFloat(st, values, 0, 1, 2, 3, 4);
                if (attrInt(node, "training_mode", 0) != 0 || st.outputs().length > 1) {
                    throw new Unsupported("training-mode BatchNormalization");
                }
                if (values.get(in[0]).shape().rank() < 2) {
                    throw new Unsupported("batch norm of rank " + values.get(in[0]).shape().rank());
                }
                float eps = attrFloat(node, "epsilon", 1e-5f);
                return b -> {
                    Shape s = b.shape(b.in(0));
                    long plane = s.size() / ((long) s.dim(0) * s.dim(1));
                    b.elementwise("tandem_bn_infer", s.size(), b.args().pointer(b.addr(b.in(0)))
                            .pointer(b.addr(b.out(0))).pointer(b.addr(b.in(1))).pointer(b.addr(b.in(2)))
                            .pointer(b.addr(b.in(3))).pointer(b.addr(b.in(4))).i32(s.dim(1)).i64(plane).i64(s.size())
                            .f32(eps));
                };
            }
            case "MaxPool" -> {
                requireFloat(st, values, 0);
                int[] p = pool(st, values, node);
                if (st.outputs().length > 1) {
                    throw new Unsupported("MaxPool's indices output");
                }
                return b -> {
                    Shape x = b.shape(b.in(0)), y = b.shape(b.out(0));
                    DeviceBuffer arg = b.p.scratch(4 * y.size());
                    maxPoolForward(b, b.addr(b.in(0)), b.addr(b.out(0)), arg.address(), x, y, p);
                };
            }
            case "GlobalAveragePool" -> {
                requireFloat(st, values, 0);
                return b -> {
                    Shape x = b.shape(b.in(0));
                    int planes = x.dim(0) * x.dim(1);
                    b.kernel("tandem_global_avgpool_fwd", Dim3.of(planes), Dim3.of(BLOCK), b.args()
                            .pointer(b.addr(b.in(0))).pointer(b.addr(b.out(0))).i64(x.size() / planes));
                };
            }
            case "PoolGrad" -> {
                requireFloat(st, values, 0, 1);
                String mode = attrString(node, "mode", "max");
                if (mode.equals("global_average")) {
                    return b -> {
                        Shape x = b.shape(b.in(1));
                        long plane = x.size() / ((long) x.dim(0) * x.dim(1));
                        b.elementwise("tandem_global_avgpool_bwd", x.size(), b.args().pointer(b.addr(b.in(0)))
                                .pointer(b.addr(b.out(0))).i64(plane).i64(x.size()));
                    };
                }
                if (!mode.equals("max")) {
                    throw new Unsupported("the gradient of " + mode + " pooling");
                }
                int[] p = pool(st, values, node);
                return b -> {
                    Shape x = b.shape(b.in(1)), y = b.shape(b.in(0));
                    if (p[2] == p[0] && p[3] == p[1] && p[4] == 0 && p[5] == 0 && x.dim(2) == y.dim(2) * p[0]
                            && x.dim(3) == y.dim(3) * p[1]) {
                        // Windows tiling the input: one pass, each output's window written whole.
                        b.elementwise("tandem_maxpool_bwd_tiled", y.size(), b.args().pointer(b.addr(b.in(1)))
                                .pointer(b.addr(b.in(0))).pointer(b.addr(b.out(0))).i32(y.dim(0) * y.dim(1))
                                .i32(y.dim(2)).i32(y.dim(3)).i32(p[0]).i32(p[1]));
                        return;
                    }
                    DeviceBuffer ys = b.p.scratch(4 * y.size());
                    DeviceBuffer arg = b.p.scratch(4 * y.size());
                    maxPoolForward(b, b.addr(b.in(1)), ys.address(), arg.address(), x, y, p);
                    b.elementwise("tandem_maxpool_bwd", x.size(), b.args().pointer(b.addr(b.in(0)))
                            .pointer(arg.address()).pointer(b.addr(b.out(0))).i32(x.dim(0) * x.dim(1)).i32(x.dim(2))
                            .i32(x.dim(3)).i32(y.dim(2)).i32(y.dim(3)).i32(p[0]).i32(p[1]).i32(p[2]).i32(p[3])
                            .i32(p[4]).i32(p[5]));
                };
            }
            case "DropoutTrain" -> {
                requireFloat(st, values, 0);
                double ratio = attrFloat(node, "ratio", 0.5f);
                long threshold = (long) Math.ceil(ratio * 0x1.0p53);
                long keepBits = Double.doubleToRawLongBits(1 / (1 - ratio));
                return b -> b.elementwise("tandem_dropout", n(b, b.out(0)), b.args().pointer(b.addr(b.in(0)))
                        .pointer(b.addr(b.in(1))).pointer(b.addr(b.out(0))).pointer(b.addr(b.out(1)))
                        .i64(n(b, b.out(0))).i64(threshold).i64(keepBits));
            }
            case "Gemm", "MatMul" -> {
                return gemm(st, values, op);
            }
            case "SoftmaxCrossEntropy", "SoftmaxCrossEntropyGrad" -> {
                return crossEntropy(st, values, op);
            }
            case "ArgMax" -> {
                requireFloat(st, values, 0);
                Shape x = values.get(in[0]).shape();
                long axis = attrInt(node, "axis", 0);
                if (x.rank() != 2 || (axis != 1 && axis != -1) || attrInt(node, "select_last_index", 0) != 0) {
                    throw new Unsupported("ArgMax other than over the last axis of a matrix");
                }
                return b -> {
                    Shape s = b.shape(b.in(0));
                    b.elementwise("tandem_argmax_rows", s.dim(0), b.args().pointer(b.addr(b.in(0)))
                            .pointer(b.addr(b.out(0))).i32(s.dim(0)).i32(s.dim(1)));
                };
            }
            case "Equal" -> {
                if (values.get(in[0]).dtype() != DType.INT64 || values.get(in[1]).dtype() != DType.INT64
                        || !values.get(in[0]).shape().equals(values.get(in[1]).shape())) {
                    throw new Unsupported("Equal other than of two int64 tensors of one shape");
                }
                return b -> b.elementwise("tandem_equal_i64", n(b, b.out(0)), b.args().pointer(b.addr(b.in(0)))
                        .pointer(b.addr(b.in(1))).pointer(b.addr(b.out(0))).i64(n(b, b.out(0))));
            }
            case "ReduceSum" -> {
                DType t = values.get(in[0]).dtype();
                if (values.get(st.outputs()[0]).shape().size() != 1) {
                    throw new Unsupported("ReduceSum other than to one value");
                }
                if (t == DType.INT64) {
                    return b -> b.kernel("tandem_sum_i64", Dim3.of(1), Dim3.of(1), b.args().pointer(b.addr(b.in(0)))
                            .pointer(b.addr(b.out(0))).i64(n(b, b.in(0))));
                }
                requireFloat(st, values, 0);
                return b -> sum(b, b.addr(b.in(0)), n(b, b.in(0)), b.addr(b.out(0)), 1f);
            }
            case "ReduceToShape" -> {
                requireFloat(st, values, 0);
                Shape dy = values.get(in[0]).shape(), to = values.get(st.outputs()[0]).shape();
                int cols = dy.dim(dy.rank() - 1);
                if (to.size() == cols && dy.rank() >= 2 && to.dim(to.rank() - 1) == cols) {
                    return b -> b.kernel("tandem_bias_grad_rows", Dim3.of((cols + BLOCK - 1) / BLOCK), Dim3.of(BLOCK),
                            b.args().pointer(b.addr(b.in(0))).pointer(b.addr(b.out(0))).i32((int) (dy.size() / cols))
                                    .i32(cols));
                }
                if (dy.rank() == 4 && to.size() == dy.dim(1) && (to.rank() == 3 || to.rank() == 4)
                        && to.dim(to.rank() - 3) == dy.dim(1)) {
                    return b -> b.kernel("tandem_bias_grad_nchw", Dim3.of(dy.dim(1)), Dim3.of(BLOCK), b.args()
                            .pointer(b.addr(b.in(0))).pointer(b.addr(b.out(0))).i32(dy.dim(0)).i32(dy.dim(1))
                            .i64((long) dy.dim(2) * dy.dim(3)));
                }
                throw new Unsupported("summing " + dy + " to " + to + " (only bias shapes)");
            }
            case "SgdStep" -> {
                return sgd(st, values, node);
            }
            case "AdamStep" -> {
                return adam(st, values, node);
            }
            default -> throw new Unsupported("no GPU implementation of " + (node.domain().isEmpty() ? "" : node.domain()
                    + ".") + op);
        }
    }

    /** Clip's bounds from the constant inputs {@code first} and {@code first + 1}, else the attributes. */
    private static float[] clipBounds(PlannedStep st, List<PlannedValue> values, Node node, int first) {
        float lo = attrFloat(node, "min", -Float.MAX_VALUE), hi = attrFloat(node, "max", Float.MAX_VALUE);
        int[] in = st.inputs();
        for (int k = 0; k < 2; k++) {
            int i = first + k;
            if (in.length > i && in[i] >= 0) {
                PlannedValue v = values.get(in[i]);
                if (v.placement() != Placement.CONST || v.shape().size() != 1) {
                    throw new Unsupported("Clip bounds that are not constants");
                }
                float x = (float) dev.tandem.runtime.ops.Elements.getDouble(v.constant(), 0);
                if (k == 0) {
                    lo = x;
                } else {
                    hi = x;
                }
            }
        }
        return new float[] {lo, hi};
    }

    /** Groups of images per channel for batch norm's partial sums: about a thousand blocks, at least one image each. */
    static int splits(int batch, int channels) {
        return Math.max(1, Math.min(batch, (1024 + channels - 1) / channels));
    }

    /** Kernels that index with 32-bit arithmetic take tensors of fewer than 2^31 elements. */
    private static void require32(PlannedStep st, List<PlannedValue> values) {
        for (int v : st.inputs()) {
            if (v >= 0 && values.get(v).shape().size() >= Integer.MAX_VALUE) {
                throw new Unsupported("a tensor of 2^31 elements or more");
            }
        }
        for (int v : st.outputs()) {
            if (values.get(v).shape().size() >= Integer.MAX_VALUE) {
                throw new Unsupported("a tensor of 2^31 elements or more");
            }
        }
    }

    private static long n(Build b, int v) {
        return b.shape(v).size();
    }

    /** {kh, kw, sh, sw, ph, pw} of a 2-D pooling node with symmetric padding and no dilation or ceil mode. */
    private static int[] pool(PlannedStep st, List<PlannedValue> values, Node node) {
        long[] k = attrInts(node, "kernel_shape");
        long[] s = attrInts(node, "strides");
        long[] pads = attrInts(node, "pads");
        long[] dil = attrInts(node, "dilations");
        if (k == null || k.length != 2) {
            throw new Unsupported("pooling other than 2-D");
        }
        if (attrInt(node, "ceil_mode", 0) != 0 || !attrString(node, "auto_pad", "NOTSET").equals("NOTSET")
                || (dil != null && (dil[0] != 1 || dil[1] != 1))) {
            throw new Unsupported("pooling with ceil_mode, auto_pad or dilation");
        }
        if (pads != null && (pads[0] != pads[2] || pads[1] != pads[3])) {
            throw new Unsupported("asymmetric pooling pads");
        }
        return new int[] {(int) k[0], (int) k[1], s == null ? 1 : (int) s[0], s == null ? 1 : (int) s[1],
                pads == null ? 0 : (int) pads[0], pads == null ? 0 : (int) pads[1]};
    }

    private static void maxPoolForward(Build b, long x, long y, long arg, Shape xs, Shape ys, int[] p) {
        b.elementwise("tandem_maxpool_fwd", ys.size(), b.args().pointer(x).pointer(y).pointer(arg)
                .i32(xs.dim(0) * xs.dim(1)).i32(xs.dim(2)).i32(xs.dim(3)).i32(ys.dim(2)).i32(ys.dim(3)).i32(p[0])
                .i32(p[1]).i32(p[2]).i32(p[3]).i32(p[4]).i32(p[5]));
    }

    /** out[0] = scale · Σ x[0..n), deterministic (partials, then one block). */
    private static void sum(Build b, long x, long n, long out, float scale) {
        int blocks = (int) Math.max(1, Math.min(256, (n + BLOCK - 1) / BLOCK));
        DeviceBuffer partial = b.p.scratch(4L * blocks);
        b.kernel("tandem_sum_partial", Dim3.of(blocks), Dim3.of(BLOCK), b.args().pointer(x).pointer(partial.address())
                .i64(n));
        b.kernel("tandem_sum_final", Dim3.of(1), Dim3.of(BLOCK), b.args().pointer(partial.address()).pointer(out)
                .i32(blocks).f32(scale));
    }

    private static Emitter conv(PlannedStep st, List<PlannedValue> values, String op) {
        Node node = st.node();
        int[] in = st.inputs();
        requireFloat(st, values, 0, 1);
        if (op.equals("Conv") && in.length > 2 && in[2] >= 0) {
            requireFloat(st, values, 2);
        }
        // Forward: X = in0, W = in1. ConvGradInput(dY, W, shape) -> dX. ConvGradWeight(dY, X, shape) -> dW.
        Shape x = switch (op) {
            case "Conv", "ConvGradWeight" -> values.get(op.equals("Conv") ? in[0] : in[1]).shape();
            default -> values.get(st.outputs()[0]).shape();
        };
        Shape w = switch (op) {
            case "ConvGradWeight" -> values.get(st.outputs()[0]).shape();
            default -> values.get(in[1]).shape();
        };
        if (x.rank() != 4 || w.rank() != 4) {
            throw new Unsupported("convolution other than 2-D NCHW");
        }
        if (!attrString(node, "auto_pad", "NOTSET").equals("NOTSET")) {
            throw new Unsupported("auto_pad");
        }
        long[] pads = attrInts(node, "pads");
        long[] strides = attrInts(node, "strides");
        long[] dil = attrInts(node, "dilations");
        if (pads != null && (pads[0] != pads[2] || pads[1] != pads[3])) {
            throw new Unsupported("asymmetric convolution pads");
        }
        int groups = (int) attrInt(node, "group", 1);
        ConvShape shape = new ConvShape(x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(2), w.dim(3),
                pads == null ? 0 : (int) pads[0], pads == null ? 0 : (int) pads[1],
                strides == null ? 1 : (int) strides[0], strides == null ? 1 : (int) strides[1],
                dil == null ? 1 : (int) dil[0], dil == null ? 1 : (int) dil[1], groups);
        return b -> {
            CudnnConvolution c = b.p.session().dnn().convolution(shape);
            b.workspace = Math.max(b.workspace, c.workspaceBytes());
            DeviceBuffer[] ws = b.ws;
            if (b.p.session().bf16()) {
                // Mixed precision: bfloat16 copies of both operands, cuDNN accumulates in float32 and rounds its
                // result to bfloat16, which goes back to float32 for the ops around (the weights stay float32).
                DeviceBuffer[] h = b.halves(b.in(0), b.in(1), b.out(0));
                b.toBf16(b.addr(b.in(0)), h[0], b.shape(b.in(0)).size());
                b.toBf16(b.addr(b.in(1)), h[1], b.shape(b.in(1)).size());
                switch (op) {
                    case "Conv" -> b.add(() -> c.forward(h[0], h[1], h[2], ws[0]), "cudnn forward bf16");
                    case "ConvGradInput" -> b.add(() -> c.backwardData(h[1], h[0], h[2], ws[0]),
                            "cudnn backward data bf16");
                    default -> b.add(() -> c.backwardFilter(h[1], h[0], h[2], ws[0], false),
                            "cudnn backward filter bf16");
                }
                b.fromBf16(h[2], b.addr(b.out(0)), b.shape(b.out(0)).size());
                if (op.equals("Conv") && b.step.inputs().length > 2 && b.in(2) >= 0) {
                    Shape y = b.shape(b.out(0));
                    b.elementwise("tandem_bias_act_nchw", y.size(), b.args().pointer(b.addr(b.out(0)))
                            .pointer(b.addr(b.in(2))).i32(y.dim(1)).i64((long) y.dim(2) * y.dim(3)).i64(y.size())
                            .i32(0));
                }
                return;
            }
            switch (op) {
                case "Conv" -> {
                    DeviceBuffer xb = b.buf(b.in(0)), wb = b.buf(b.in(1)), yb = b.buf(b.out(0));
                    b.add(() -> c.forward(xb, wb, yb, ws[0]));
                    if (b.step.inputs().length > 2 && b.in(2) >= 0) {
                        Shape y = b.shape(b.out(0));
                        b.elementwise("tandem_bias_act_nchw", y.size(), b.args().pointer(yb.address())
                                .pointer(b.addr(b.in(2))).i32(y.dim(1)).i64((long) y.dim(2) * y.dim(3)).i64(y.size())
                                .i32(0));
                    }
                }
                case "ConvGradInput" -> {
                    DeviceBuffer dy = b.buf(b.in(0)), wb = b.buf(b.in(1)), dx = b.buf(b.out(0));
                    b.add(() -> c.backwardData(wb, dy, dx, ws[0]));
                }
                default -> {
                    DeviceBuffer dy = b.buf(b.in(0)), xb = b.buf(b.in(1)), dw = b.buf(b.out(0));
                    b.add(() -> c.backwardFilter(xb, dy, dw, ws[0], false));
                }
            }
        };
    }

    private static Emitter gemm(PlannedStep st, List<PlannedValue> values, String op) {
        Node node = st.node();
        int[] in = st.inputs();
        requireFloat(st, values, 0, 1);
        Shape a = values.get(in[0]).shape(), bs = values.get(in[1]).shape();
        if (a.rank() != 2 || bs.rank() != 2) {
            throw new Unsupported(op + " of " + a + " and " + bs + " (only matrices)");
        }
        boolean ta = op.equals("Gemm") && attrInt(node, "transA", 0) != 0;
        boolean tb = op.equals("Gemm") && attrInt(node, "transB", 0) != 0;
        float alpha = op.equals("Gemm") ? attrFloat(node, "alpha", 1f) : 1f;
        float beta = op.equals("Gemm") ? attrFloat(node, "beta", 1f) : 0f;
        int m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1), n = tb ? bs.dim(0) : bs.dim(1);
        boolean hasC = op.equals("Gemm") && in.length > 2 && in[2] >= 0;
        int cMode = 0;
        if (hasC) {
            requireFloat(st, values, 2);
            Shape c = values.get(in[2]).shape();
            if (c.size() == n && (c.rank() == 1 || c.dim(0) == 1) && beta == 1f) {
                cMode = 1;
            } else if (c.rank() == 2 && c.dim(0) == m && c.dim(1) == n) {
                cMode = 2;
            } else {
                throw new Unsupported("Gemm's C of shape " + c + " with beta " + beta);
            }
        }
        int mode = cMode;
        return b -> {
            var blas = b.p.session().blas();
            DeviceBuffer ab = b.buf(b.in(0)), bb = b.buf(b.in(1)), yb = b.buf(b.out(0));
            if (b.p.session().bf16()) {
                // Mixed precision: bfloat16 copies of A and B, products accumulated in float32 into a float32 C.
                DeviceBuffer[] h = b.halves(b.in(0), b.in(1));
                b.toBf16(ab.address(), h[0], (long) m * k);
                b.toBf16(bb.address(), h[1], (long) k * n);
                if (mode == 2) {
                    b.copy(b.in(2), b.out(0));
                }
                float bt = mode == 2 ? beta : 0f;
                b.add(() -> blas.gemmBf16(ta, tb, m, n, k, alpha, h[0], h[1], bt, yb), "cublas gemm bf16");
                if (mode == 1) {
                    b.elementwise("tandem_bias_act_rows", (long) m * n, b.args().pointer(yb.address())
                            .pointer(b.addr(b.in(2))).i32(n).i64((long) m * n).i32(0));
                }
                return;
            }
            if (mode == 2) {
                b.copy(b.in(2), b.out(0));
                b.add(() -> blas.gemm(ta, tb, m, n, k, alpha, ab, bb, beta, yb));
            } else {
                b.add(() -> blas.gemm(ta, tb, m, n, k, alpha, ab, bb, 0f, yb));
                if (mode == 1) {
                    b.elementwise("tandem_bias_act_rows", (long) m * n, b.args().pointer(yb.address())
                            .pointer(b.addr(b.in(2))).i32(n).i64((long) m * n).i32(0));
                }
            }
        };
    }

    private static Emitter crossEntropy(PlannedStep st, List<PlannedValue> values, String op) {
        Node node = st.node();
        int[] in = st.inputs();
        boolean grad = op.endsWith("Grad");
        int logitsIn = grad ? 1 : 0, labelsIn = grad ? 2 : 1, weightsIn = grad ? 3 : 2;
        requireFloat(st, values, logitsIn);
        if (in.length > weightsIn && in[weightsIn] >= 0) {
            throw new Unsupported("class weights");
        }
        if (values.get(in[labelsIn]).dtype() != DType.INT64) {
            throw new Unsupported("labels of type " + values.get(in[labelsIn]).dtype());
        }
        Shape z = values.get(in[logitsIn]).shape();
        if (z.rank() != 2) {
            throw new Unsupported("logits of rank " + z.rank());
        }
        String reduction = attrString(node, "reduction", "mean").toLowerCase(Locale.ROOT);
        if (!reduction.equals("mean") && !reduction.equals("sum")) {
            throw new Unsupported("reduction '" + reduction + "'");
        }
        float smoothing = attrFloat(node, "label_smoothing", 0f);
        int rows = z.dim(0), classes = z.dim(1);
        float divisor = reduction.equals("mean") ? rows : 1;
        return b -> {
            if (grad) {
                b.elementwise("tandem_xent_grad", (long) rows * classes, b.args().pointer(b.addr(b.in(0)))
                        .pointer(b.addr(b.in(1))).pointer(b.addr(b.in(2))).pointer(b.addr(b.out(0))).i32(rows)
                        .i32(classes).f32(smoothing).f32(divisor));
                return;
            }
            DeviceBuffer lossRows = b.p.scratch(4L * rows);
            DeviceBuffer dlogits = b.p.scratch(4L * rows * classes);
            b.kernel("tandem_softmax_xent", Dim3.of((rows + BLOCK - 1) / BLOCK), Dim3.of(BLOCK), b.args()
                    .pointer(b.addr(b.in(0))).pointer(b.addr(b.in(1))).pointer(lossRows.address())
                    .pointer(b.addr(b.out(1))).pointer(dlogits.address()).i32(rows).i32(classes).f32(smoothing)
                    .f32(0f));
            sum(b, lossRows.address(), rows, b.addr(b.out(0)), 1f / divisor);
            int labels = b.in(1);
            PlannedValue lv = b.values.get(labels);
            if (lv.placement() == Placement.INPUT) {
                int index = lv.input();
                String name = b.step.node().name();
                b.checks.add(t -> {
                    Tensor l = t[index];
                    for (long i = 0; i < l.size(); i++) {
                        long v = dev.tandem.runtime.ops.Elements.getLong(l, i);
                        if (v < 0 || v >= classes) {
                            throw new InvalidInputException("Label " + v + " at row " + i + " is outside [0, "
                                    + classes + ") (" + name + ")");
                        }
                    }
                });
            }
        };
    }

    /**
     * The summed squares of the optimizer's {@code k} gradients (the step's inputs from {@code first} on), into a
     * one-float device buffer: a partial sum per block of each gradient, then one fixed-order final sum.
     */
    private static DeviceBuffer sumOfSquares(Build b, int first, int k) {
        int blocksPer = 64;
        DeviceBuffer partial = b.p.scratch(4L * blocksPer * k);
        DeviceBuffer sumsq = b.p.scratch(4);
        for (int i = 0; i < k; i++) {
            int g = b.in(first + i);
            b.kernel("tandem_sumsq_partial", Dim3.of(blocksPer), Dim3.of(BLOCK), b.args().pointer(b.addr(g))
                    .pointer(partial.address() + 4L * blocksPer * i).i64(n(b, g)));
        }
        b.kernel("tandem_sum_final", Dim3.of(1), Dim3.of(BLOCK), b.args().pointer(partial.address())
                .pointer(sumsq.address()).i32(blocksPer * k).f32(1f));
        return sumsq;
    }

    private static Emitter adam(PlannedStep st, List<PlannedValue> values, Node node) {
        int[] in = st.inputs();
        int count = in.length;
        if (count < 6 || (count - 2) % 4 != 0) {
            throw new Unsupported("AdamStep with " + count + " inputs");
        }
        int k = (count - 2) / 4;
        if (values.get(in[0]).dtype() != DType.FLOAT32 || values.get(in[1]).dtype() != DType.INT64) {
            throw new Unsupported("AdamStep's lr must be float32 and its step int64");
        }
        for (int i = 2; i < count; i++) {
            if (values.get(in[i]).dtype() != DType.FLOAT32) {
                throw new Unsupported("input " + i + " is " + values.get(in[i]).dtype());
            }
        }
        for (int i = 0; i < k; i++) {
            for (int g : new int[] {0, 2, 3}) {
                if (values.get(in[2 + g * k + i]).placement() != Placement.INPUT) {
                    throw new Unsupported("parameters or moments that are not graph inputs");
                }
            }
        }
        float b1 = attrFloat(node, "beta1", 0.9f), b2 = attrFloat(node, "beta2", 0.999f);
        float eps = attrFloat(node, "epsilon", 1e-8f), wd = attrFloat(node, "weight_decay", 0f);
        boolean decoupled = attrInt(node, "decoupled", 0) != 0;
        float maxNorm = attrFloat(node, "max_grad_norm", 0f);
        long[] decay = attrInts(node, "decay");
        return b -> {
            DeviceBuffer sumsq = sumOfSquares(b, 2 + k, k);
            DeviceBuffer hp = b.p.scratch(16);
            b.kernel("tandem_adam_hyper", Dim3.of(1), Dim3.of(1), b.args().pointer(sumsq.address())
                    .pointer(b.addr(b.in(0))).pointer(b.addr(b.in(1))).pointer(hp.address()).pointer(b.addr(b.out(0)))
                    .f32(b1).f32(b2).f32(maxNorm));
            for (int i = 0; i < k; i++) {
                int p = b.in(2 + i), g = b.in(2 + k + i), m = b.in(2 + 2 * k + i), v = b.in(2 + 3 * k + i);
                float d = decay == null || decay[i] != 0 ? wd : 0f;
                b.elementwise("tandem_adam_step", n(b, p), b.args().pointer(b.addr(p)).pointer(b.addr(g))
                        .pointer(b.addr(m)).pointer(b.addr(v)).i64(n(b, p)).pointer(hp.address()).f32(b1).f32(b2)
                        .f32(eps).f32(d).i32(decoupled ? 1 : 0));
                b.writes(2 + i);
                b.writes(2 + 2 * k + i);
                b.writes(2 + 3 * k + i);
            }
            b.norms.add(new NormCheck(b.out(0), b.step.node().name()));
            PlannedValue sv = b.values.get(b.in(1));
            if (sv.placement() == Placement.INPUT) {
                int index = sv.input();
                String name = b.step.node().name();
                b.checks.add(t -> {
                    long s = dev.tandem.runtime.ops.Elements.getLong(t[index], 0);
                    if (s < 1) {
                        throw new dev.tandem.runtime.ModelException("AdamStep's step count must be >= 1; got " + s
                                + " (" + name + ")");
                    }
                });
            }
        };
    }

    private static Emitter sgd(PlannedStep st, List<PlannedValue> values, Node node) {
        int[] in = st.inputs();
        int count = in.length;
        int scalars = count >= 5 && (count - 2) % 3 == 0 ? 2 : 1;
        if ((count - scalars) % 3 != 0) {
            throw new Unsupported("SgdStep with " + count + " inputs");
        }
        int k = (count - scalars) / 3;
        for (int i = 0; i < count; i++) {
            if (values.get(in[i]).dtype() != DType.FLOAT32) {
                throw new Unsupported("input " + i + " is " + values.get(in[i]).dtype());
            }
        }
        for (int i = 0; i < k; i++) {
            if (values.get(in[scalars + i]).placement() != Placement.INPUT
                    || values.get(in[scalars + 2 * k + i]).placement() != Placement.INPUT) {
                throw new Unsupported("parameters that are not graph inputs");
            }
        }
        float momentum = attrFloat(node, "momentum", 0f);
        boolean nesterov = attrInt(node, "nesterov", 0) != 0;
        float wd = attrFloat(node, "weight_decay", 0f);
        float maxNorm = attrFloat(node, "max_grad_norm", 0f);
        long[] decay = attrInts(node, "decay");
        return b -> {
            if (MULTI_TENSOR && k > 1) {
                sgdMulti(b, scalars, k, momentum, nesterov, wd, maxNorm, decay);
                return;
            }
            DeviceBuffer sumsq = sumOfSquares(b, scalars + k, k);
            DeviceBuffer hp = b.p.scratch(16);
            b.kernel("tandem_sgd_hyper", Dim3.of(1), Dim3.of(1), b.args().pointer(sumsq.address())
                    .pointer(b.addr(b.in(0))).pointer(scalars == 2 ? b.addr(b.in(1)) : sumsq.address())
                    .pointer(hp.address()).pointer(b.addr(b.out(0))).f32(momentum).i32(scalars == 2 ? 1 : 0)
                    .f32(maxNorm));
            for (int i = 0; i < k; i++) {
                int p = b.in(scalars + i), g = b.in(scalars + k + i), m = b.in(scalars + 2 * k + i);
                float d = decay == null || decay[i] != 0 ? wd : 0f;
                b.elementwise("tandem_sgd_step", n(b, p), b.args().pointer(b.addr(p)).pointer(b.addr(g))
                        .pointer(b.addr(m)).i64(n(b, p)).pointer(hp.address()).f32(d).i32(nesterov ? 1 : 0));
                b.writes(scalars + i);
                b.writes(scalars + 2 * k + i);
            }
            b.norms.add(new NormCheck(b.out(0), b.step.node().name()));
        };
    }

    /**
     * Whether an optimizer step over several tensors runs as one launch for the sums of squares and one for the
     * updates (tables of the tensors' addresses in device memory) instead of one launch per tensor for each
     * ({@code -Dtandem.cuda.multiTensor=false}). Same arithmetic either way (KernelCases: "multi-tensor SGD step").
     */
    static final boolean MULTI_TENSOR = Boolean.parseBoolean(System.getProperty("tandem.cuda.multiTensor", "true"));

    /** {@link #sgd}'s launches for k > 1 tensors: 4 launches instead of 2k + 2. */
    private static void sgdMulti(Build b, int scalars, int k, float momentum, boolean nesterov, float wd,
                                 float maxNorm, long[] decay) {
        // the tables, filled now: the addresses are those of the current bindings (emitters run again on rebind)
        DeviceBuffer table = b.p.scratch(8L * 4 * k + 4L * k);
        long maxN = 1;
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment host = a.allocate(8L * 4 * k + 4L * k, 8);
            for (int i = 0; i < k; i++) {
                int p = b.in(scalars + i), g = b.in(scalars + k + i), m = b.in(scalars + 2 * k + i);
                long n = n(b, p);
                maxN = Math.max(maxN, n);
                host.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i, b.addr(p));
                host.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, k + i, b.addr(g));
                host.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, 2L * k + i, b.addr(m));
                host.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, 3L * k + i, n);
                host.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 8L * k + i,
                        decay == null || decay[i] != 0 ? wd : 0f);
                b.writes(scalars + i);
                b.writes(scalars + 2 * k + i);
            }
            table.copyFrom(host);
        }
        long ps = table.address(), gs = ps + 8L * k, ms = ps + 16L * k, ns = ps + 24L * k, decays = ps + 32L * k;
        int blocksPer = 64;
        DeviceBuffer partial = b.p.scratch(4L * blocksPer * k);
        DeviceBuffer sumsq = b.p.scratch(4);
        b.kernel("tandem_sumsq_multi", Dim3.of(blocksPer, k), Dim3.of(BLOCK), b.args().pointer(gs).pointer(ns)
                .pointer(partial.address()));
        b.kernel("tandem_sum_final", Dim3.of(1), Dim3.of(BLOCK), b.args().pointer(partial.address())
                .pointer(sumsq.address()).i32(blocksPer * k).f32(1f));
        DeviceBuffer hp = b.p.scratch(16);
        b.kernel("tandem_sgd_hyper", Dim3.of(1), Dim3.of(1), b.args().pointer(sumsq.address())
                .pointer(b.addr(b.in(0))).pointer(scalars == 2 ? b.addr(b.in(1)) : sumsq.address())
                .pointer(hp.address()).pointer(b.addr(b.out(0))).f32(momentum).i32(scalars == 2 ? 1 : 0)
                .f32(maxNorm));
        int blocks = (int) Math.max(1, Math.min(2048, (maxN + BLOCK - 1) / BLOCK));
        b.kernel("tandem_sgd_step_multi", Dim3.of(blocks, k), Dim3.of(BLOCK), b.args().pointer(ps).pointer(gs)
                .pointer(ms).pointer(ns).pointer(decays).pointer(hp.address()).i32(nesterov ? 1 : 0));
        b.norms.add(new NormCheck(b.out(0), b.step.node().name()));
    }
}
