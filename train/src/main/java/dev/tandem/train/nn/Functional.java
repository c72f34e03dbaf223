package dev.tandem.train.nn;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.train.nn.Tracer.Out;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The functional ops layers are built from (the analogue of {@code torch.nn.functional}): each appends nodes to
 * the inputs' {@link Tracer} and returns the result with its static shape. Tensors are NCHW float32.
 *
 * <p>Every op emits standard ONNX opset-17 nodes except {@link #batchNorm} and {@link #dropout} with
 * {@code training} true, which emit the {@code dev.tandem} training ops of {@code docs/training.md}. Shape errors
 * are {@link IllegalArgumentException}s naming the op and the shapes.
 */
public final class Functional {
    private Functional() {
    }

    // ---- convolution and normalisation

    /**
     * 2-D convolution ({@code Conv}): x [N, C, H, W], weight [O, C/groups, kH, kW], bias [O] or null. stride,
     * padding (symmetric) and dilation are {height, width} pairs.
     */
    public static Var conv2d(Var x, Var weight, Var bias, int[] stride, int[] padding, int[] dilation, int groups) {
        requireRank("conv2d", x, 4);
        requireRank("conv2d weight", weight, 4);
        int n = x.dim(0), c = x.dim(1), o = weight.dim(0);
        if (groups < 1 || c % groups != 0 || o % groups != 0 || weight.dim(1) * groups != c) {
            throw new IllegalArgumentException("conv2d: input " + x.shape() + " with " + groups + " groups does not "
                    + "fit weight " + weight.shape() + " (need C = weight.dim(1) * groups, both C and O divisible)");
        }
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != o)) {
            throw new IllegalArgumentException("conv2d: bias must be [" + o + "]; got " + bias.shape());
        }
        int[] k = {weight.dim(2), weight.dim(3)};
        int oh = outSize("conv2d", x, 2, k[0], stride[0], padding[0], dilation[0]);
        int ow = outSize("conv2d", x, 3, k[1], stride[1], padding[1], dilation[1]);
        Map<String, Attribute> attrs = attrs(
                Attribute.of("kernel_shape", longs(k)),
                Attribute.of("strides", longs(stride)),
                Attribute.of("pads", pads(padding)),
                Attribute.of("dilations", longs(dilation)),
                Attribute.of("group", (long) groups));
        List<Var> in = bias == null ? List.of(x, weight) : List.of(x, weight, bias);
        return x.tracer().emit("Conv", in, attrs, DType.FLOAT32, Shape.of(n, o, oh, ow));
    }

    /** {@link #conv2d(Var, Var, Var, int[], int[], int[], int)} with square stride, padding and dilation. */
    public static Var conv2d(Var x, Var weight, Var bias, int stride, int padding, int dilation, int groups) {
        return conv2d(x, weight, bias, pair(stride), pair(padding), pair(dilation), groups);
    }

    /**
     * Batch normalisation over axis 1 of [N, C, ...]. Training: {@code dev.tandem.BatchNormTrain} (batch
     * statistics; the running statistics, which must be graph inputs, are updated in place with PyTorch's
     * {@code momentum}). Otherwise ONNX {@code BatchNormalization} with the running statistics.
     */
    public static Var batchNorm(Var x, Var scale, Var bias, Var runningMean, Var runningVar, boolean training,
                                double eps, double momentum) {
        if (x.rank() < 2) {
            throw new IllegalArgumentException("batchNorm: input must be [N, C, ...]; got " + x.shape());
        }
        int c = x.dim(1);
        for (Var p : List.of(scale, bias, runningMean, runningVar)) {
            if (p.rank() != 1 || p.dim(0) != c) {
                throw new IllegalArgumentException("batchNorm: input " + x.shape() + " needs [" + c
                        + "] parameters; got " + p.shape() + " for '" + p.name() + "'");
            }
        }
        List<Var> in = List.of(x, scale, bias, runningMean, runningVar);
        if (training) {
            if (runningMean.value().isConstant() || runningVar.value().isConstant()) {
                throw new IllegalArgumentException("batchNorm: training mode updates the running statistics in "
                        + "place, so they must be graph inputs, not constants");
            }
            Map<String, Attribute> attrs = attrs(Attribute.of("epsilon", (float) eps),
                    Attribute.of("momentum", (float) momentum));
            return x.tracer().emit("BatchNormTrain", Node.TANDEM_DOMAIN, in, attrs, Out.f32(x.shape()),
                    Out.f32(Shape.of(c)), Out.f32(Shape.of(c))).getFirst();
        }
        return x.tracer().emit("BatchNormalization", in, attrs(Attribute.of("epsilon", (float) eps)),
                DType.FLOAT32, x.shape());
    }

    /** {@code x·Wᵀ + b} ({@code Gemm}, transB = 1): x [N, in], weight [out, in], bias [out] or null. */
    public static Var linear(Var x, Var weight, Var bias) {
        requireRank("linear", x, 2);
        requireRank("linear weight", weight, 2);
        if (x.dim(1) != weight.dim(1)) {
            throw new IllegalArgumentException("linear: input " + x.shape() + " has " + x.dim(1)
                    + " features; the weight " + weight.shape() + " expects " + weight.dim(1));
        }
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != weight.dim(0))) {
            throw new IllegalArgumentException("linear: bias must be [" + weight.dim(0) + "]; got " + bias.shape());
        }
        List<Var> in = bias == null ? List.of(x, weight) : List.of(x, weight, bias);
        return x.tracer().emit("Gemm", in, attrs(Attribute.of("transB", 1L)), DType.FLOAT32,
                Shape.of(x.dim(0), weight.dim(0)));
    }

    // ---- activations

    public static Var relu(Var x) {
        return unary("Relu", x);
    }

    /** {@code min(max(x, 0), 6)}: ONNX {@code Clip} with scalar bound inputs. */
    public static Var relu6(Var x) {
        return clip(x, 0f, 6f);
    }

    /** ONNX {@code Clip} with scalar float32 bound inputs. */
    public static Var clip(Var x, float min, float max) {
        Tracer t = x.tracer();
        return t.emit("Clip", List.of(x, t.scalar(min), t.scalar(max)), Map.of(), x.dtype(), x.shape());
    }

    /** {@code x·sigmoid(x)} ({@code Sigmoid}, {@code Mul}). */
    public static Var silu(Var x) {
        return mul(x, sigmoid(x));
    }

    public static Var hardSwish(Var x) {
        return unary("HardSwish", x);
    }

    public static Var sigmoid(Var x) {
        return unary("Sigmoid", x);
    }

    public static Var tanh(Var x) {
        return unary("Tanh", x);
    }

    private static Var unary(String op, Var x) {
        return x.tracer().emit(op, List.of(x), Map.of(), x.dtype(), x.shape());
    }

    // ---- pooling and shape

    /** {@code MaxPool} over [N, C, H, W] with a square window. */
    public static Var maxPool2d(Var x, int kernel, int stride, int padding) {
        requireRank("maxPool2d", x, 4);
        if (padding * 2 > kernel) {
            throw new IllegalArgumentException("maxPool2d: padding " + padding + " must be at most half the kernel "
                    + kernel);
        }
        return x.tracer().emit("MaxPool", List.of(x), poolAttrs(kernel, stride, padding), DType.FLOAT32,
                poolShape("maxPool2d", x, kernel, stride, padding));
    }

    /**
     * {@code AveragePool} over [N, C, H, W] with a square window; {@code countIncludePad} as PyTorch's
     * {@code count_include_pad} (PyTorch's default is true, ONNX's false: it is always written).
     */
    public static Var avgPool2d(Var x, int kernel, int stride, int padding, boolean countIncludePad) {
        requireRank("avgPool2d", x, 4);
        if (padding * 2 > kernel) {
            throw new IllegalArgumentException("avgPool2d: padding " + padding + " must be at most half the kernel "
                    + kernel);
        }
        Map<String, Attribute> attrs = new java.util.LinkedHashMap<>(poolAttrs(kernel, stride, padding));
        attrs.put("count_include_pad", Attribute.of("count_include_pad", countIncludePad ? 1L : 0L));
        return x.tracer().emit("AveragePool", List.of(x), attrs, DType.FLOAT32,
                poolShape("avgPool2d", x, kernel, stride, padding));
    }

    /** {@code GlobalAveragePool}: [N, C, H, W] → [N, C, 1, 1]. */
    public static Var globalAvgPool(Var x) {
        if (x.rank() < 3) {
            throw new IllegalArgumentException("globalAvgPool: input must be [N, C, spatial...]; got " + x.shape());
        }
        int[] d = x.shape().dims();
        Arrays.fill(d, 2, d.length, 1);
        return x.tracer().emit("GlobalAveragePool", List.of(x), Map.of(), x.dtype(), Shape.of(d));
    }

    /** {@code Flatten} (axis 1): [N, ...] → [N, product of the rest]. */
    public static Var flatten(Var x) {
        if (x.rank() < 1) {
            throw new IllegalArgumentException("flatten: input must have a batch dimension; got a scalar");
        }
        long rest = x.shape().size() / Math.max(1, x.dim(0));
        if (x.dim(0) == 0) {
            rest = 1;
            for (int i = 1; i < x.rank(); i++) {
                rest *= x.dim(i);
            }
        }
        return x.tracer().emit("Flatten", List.of(x), attrs(Attribute.of("axis", 1L)), x.dtype(),
                Shape.of(x.dim(0), Math.toIntExact(rest)));
    }

    /**
     * Dropout with drop probability {@code p} in [0, 1). Training (and p &gt; 0): {@code dev.tandem.DropoutTrain}
     * (X, seed) → (Y, mask) with attribute {@code ratio}, seeded by {@link Tracer#nextDropoutSeed()}. Otherwise
     * the identity: no node at all.
     */
    public static Var dropout(Var x, double p, boolean training) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout: probability must be in [0, 1); got " + p);
        }
        if (!training || p == 0) {
            return x;
        }
        Tracer t = x.tracer();
        return t.emit("DropoutTrain", Node.TANDEM_DOMAIN, List.of(x, t.nextDropoutSeed()),
                attrs(Attribute.of("ratio", (float) p)), Out.f32(x.shape()), Out.f32(x.shape())).getFirst();
    }

    // ---- arithmetic and reductions

    /** {@code Add} with numpy broadcasting. */
    public static Var add(Var a, Var b) {
        return binary("Add", a, b);
    }

    /** {@code Sub} with numpy broadcasting. */
    public static Var sub(Var a, Var b) {
        return binary("Sub", a, b);
    }

    /** {@code Mul} with numpy broadcasting. */
    public static Var mul(Var a, Var b) {
        return binary("Mul", a, b);
    }

    private static Var binary(String op, Var a, Var b) {
        if (a.dtype() != b.dtype()) {
            throw new IllegalArgumentException(op + ": operands " + a + " and " + b + " differ in type");
        }
        Shape s;
        try {
            s = Shape.broadcast(a.shape(), b.shape());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(op + ": " + e.getMessage(), e);
        }
        return a.tracer().emit(op, List.of(a, b), Map.of(), a.dtype(), s);
    }

    /** {@code LogSoftmax} along {@code axis}. */
    public static Var logSoftmax(Var x, int axis) {
        int a = x.shape().normalizeAxis(axis);
        return x.tracer().emit("LogSoftmax", List.of(x), attrs(Attribute.of("axis", (long) a)), x.dtype(),
                x.shape());
    }

    /** {@code ReduceMean} over every axis (keepdims 0): a scalar. */
    public static Var mean(Var x) {
        return x.tracer().emit("ReduceMean", List.of(x), attrs(Attribute.of("keepdims", 0L)),
                x.dtype(), Shape.scalar());
    }

    // ---- helpers

    private static void requireRank(String op, Var x, int rank) {
        if (x.rank() != rank) {
            throw new IllegalArgumentException(op + ": expected rank " + rank + "; got " + x.shape() + " for '"
                    + x.name() + "'");
        }
    }

    private static int outSize(String op, Var x, int axis, int k, int stride, int pad, int dilation) {
        if (stride < 1 || dilation < 1 || pad < 0) {
            throw new IllegalArgumentException(op + ": stride and dilation must be >= 1 and padding >= 0; got "
                    + stride + ", " + dilation + ", " + pad);
        }
        int span = dilation * (k - 1) + 1;
        int padded = x.dim(axis) + 2 * pad;
        if (padded < span) {
            throw new IllegalArgumentException(op + ": input " + x.shape() + " is too small for a window of " + span
                    + " along axis " + axis + " (padding " + pad + ")");
        }
        return (padded - span) / stride + 1;
    }

    private static Shape poolShape(String op, Var x, int kernel, int stride, int padding) {
        if (kernel < 1) {
            throw new IllegalArgumentException(op + ": kernel must be >= 1; got " + kernel);
        }
        return Shape.of(x.dim(0), x.dim(1), outSize(op, x, 2, kernel, stride, padding, 1),
                outSize(op, x, 3, kernel, stride, padding, 1));
    }

    private static Map<String, Attribute> poolAttrs(int kernel, int stride, int padding) {
        return attrs(Attribute.of("kernel_shape", new long[]{kernel, kernel}),
                Attribute.of("strides", new long[]{stride, stride}),
                Attribute.of("pads", new long[]{padding, padding, padding, padding}));
    }

    /** Attributes in the given order (node attributes keep their order, e.g. in an exported file). */
    static Map<String, Attribute> attrs(Attribute... attributes) {
        Map<String, Attribute> m = new java.util.LinkedHashMap<>();
        for (Attribute a : attributes) {
            m.put(a.name(), a);
        }
        return m;
    }

    static int[] pair(int v) {
        return new int[]{v, v};
    }

    private static long[] longs(int[] v) {
        long[] l = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            l[i] = v[i];
        }
        return l;
    }

    private static long[] pads(int[] p) {
        return new long[]{p[0], p[1], p[0], p[1]};
    }
}
