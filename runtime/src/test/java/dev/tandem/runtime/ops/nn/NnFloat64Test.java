package dev.tandem.runtime.ops.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Float64Parity;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The float64 paths of this package's ops against their float32 paths on random inputs (odd and prime sizes,
 * every attribute the ops take), and a few against values only double precision gives.
 */
class NnFloat64Test {
    private final Float64Parity f = new Float64Parity(7);

    @AfterEach
    void close() {
        f.close();
    }

    @Test
    void conv2dEveryGeometryConstantAndRuntimeWeights() {
        // {n, cin, cout, group, kh, kw, stride, pad, dilation, h, w}
        int[][] geos = {{1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1}, {2, 3, 5, 1, 3, 3, 1, 1, 1, 7, 9},
            {1, 6, 4, 2, 3, 2, 2, 1, 1, 11, 8}, {2, 5, 5, 5, 3, 3, 2, 1, 1, 13, 7}, {1, 4, 6, 2, 3, 3, 1, 2, 2, 9, 10},
            {3, 2, 7, 1, 5, 5, 3, 2, 1, 17, 13}, {1, 8, 3, 1, 1, 1, 1, 0, 1, 5, 6}};
        for (int[] g : geos) {
            int n = g[0], cin = g[1], cout = g[2], group = g[3], kh = g[4], kw = g[5], s = g[6], pad = g[7], d = g[8];
            Tensor x = f.random(n, cin, g[9], g[10]), w = f.random(cout, cin / group, kh, kw), b = f.random(cout);
            for (boolean constant : new boolean[] {true, false}) {
                for (boolean bias : new boolean[] {true, false}) {
                    var c = f.node("Conv").attr("group", (long) group).ints("strides", s, s)
                            .ints("pads", pad, pad, pad + (s > 1 ? 1 : 0), pad).ints("dilations", d, d)
                            .in(bias ? new Tensor[] {x, w, b} : new Tensor[] {x, w});
                    if (constant) {
                        c.constant(bias ? new int[] {1, 2} : new int[] {1});
                    }
                    c.check();
                }
            }
        }
    }

    @Test
    void conv1dAndAutoPad() {
        Tensor x = f.random(2, 4, 17), w = f.random(6, 2, 3);
        for (String pad : new String[] {"SAME_UPPER", "SAME_LOWER", "VALID"}) {
            f.node("Conv").attr("group", 2L).ints("dilations", 2).ints("strides", 2).attr("auto_pad", pad)
                    .in(x, w).constant(1).check();
        }
        Tensor x2 = f.random(1, 3, 10, 7), w2 = f.random(4, 3, 3, 3);
        f.node("Conv").attr("auto_pad", "SAME_UPPER").ints("strides", 2, 3).in(x2, w2).check();
    }

    @Test
    void fusedConvActivationsAndResidual() {
        Tensor x = f.random(2, 4, 9, 7), w = f.random(6, 4, 3, 3), b = f.random(6);
        Tensor z = f.random(2, 6, 9, 7), zRow = f.random(1, 6, 1, 7);
        for (String act : new String[] {"", "Relu", "Clip", "Sigmoid", "HardSwish", "SiLU"}) {
            for (Tensor res : new Tensor[] {null, z, zRow}) {
                var c = f.node(dev.tandem.runtime.graph.Node.TANDEM_DOMAIN, "FusedConv").ints("pads", 1, 1, 1, 1)
                        .attr("activation", act);
                if (act.equals("Clip")) {
                    c.attr("activation_min", -0.3f).attr("activation_max", 0.4f);
                }
                c.in(res == null ? new Tensor[] {x, w, b} : new Tensor[] {x, w, b, res}).constant(1, 2).check();
            }
        }
    }

    @Test
    void convTranspose() {
        // {n, cin, cout, group, k, stride, pad, outPad, dilation, h, w}
        int[][] geos = {{1, 2, 3, 1, 3, 1, 0, 0, 1, 5, 4}, {2, 4, 6, 2, 3, 2, 1, 1, 1, 5, 7},
            {1, 3, 2, 1, 2, 3, 0, 2, 2, 4, 3}, {1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1}};
        for (int[] g : geos) {
            Tensor x = f.random(g[0], g[1], g[9], g[10]), w = f.random(g[1], g[2] / g[3], g[4], g[4]);
            Tensor b = f.random(g[2]);
            f.node("ConvTranspose").attr("group", (long) g[3]).ints("strides", g[5], g[5])
                    .ints("pads", g[6], g[6], g[6], g[6]).ints("output_padding", g[7], g[7])
                    .ints("dilations", g[8], g[8]).in(x, w, b).check();
        }
        Tensor x = f.random(2, 3, 11), w = f.random(3, 4, 3);
        f.node("ConvTranspose").ints("strides", 2).ints("output_shape", 24).in(x, w).check();
        f.node("ConvTranspose").ints("strides", 2).attr("auto_pad", "SAME_LOWER").in(x, w).check();
    }

    @Test
    void gemmEveryTransposeAndBias() {
        int m = 7, k = 13, n = 5;
        Tensor[] cs = {null, f.random(), f.random(1), f.random(n), f.random(1, n), f.random(m, 1), f.random(m, n)};
        for (int ta = 0; ta < 2; ta++) {
            for (int tb = 0; tb < 2; tb++) {
                Tensor a = ta == 1 ? f.random(k, m) : f.random(m, k);
                Tensor b = tb == 1 ? f.random(n, k) : f.random(k, n);
                for (Tensor c : cs) {
                    for (boolean constB : new boolean[] {false, true}) {
                        var g = f.node("Gemm").opset(13).attr("transA", (long) ta).attr("transB", (long) tb)
                                .attr("alpha", 0.7f).attr("beta", -1.3f)
                                .in(c == null ? new Tensor[] {a, b} : new Tensor[] {a, b, c});
                        if (constB) {
                            g.constant(1);
                        }
                        g.check();
                    }
                }
            }
        }
        // a few rows with constant B, and beta = 0 (C not read)
        f.node("Gemm").in(f.random(1, 31), f.random(31, 3), f.random(3)).constant(1).check();
        f.node("Gemm").attr("beta", 0f).in(f.random(3, 4), f.random(4, 2), f.random(3, 2)).check();
    }

    @Test
    void matMulShapes() {
        int[][][] shapes = {{{5}, {5}}, {{5}, {5, 3}}, {{4, 5}, {5}}, {{7, 5}, {5, 3}}, {{2, 7, 5}, {5, 3}},
            {{2, 7, 5}, {2, 5, 3}}, {{3, 1, 4, 5}, {2, 5, 6}}, {{4, 5}, {3, 5, 2}}, {{1, 1}, {1, 1}},
            {{2, 3, 0}, {0, 4}}};
        for (int[][] s : shapes) {
            for (boolean constant : new boolean[] {false, true}) {
                var c = f.node("MatMul").in(f.random(s[0]), f.random(s[1]));
                if (constant) {
                    c.constant(0, 1);
                }
                c.check();
            }
        }
    }

    @Test
    void pools() {
        Tensor x = f.random(2, 3, 11, 9);
        for (String op : new String[] {"MaxPool", "AveragePool"}) {
            for (long ceil = 0; ceil < 2; ceil++) {
                for (long include = 0; include < 2; include++) {
                    var c = f.node(op).ints("kernel_shape", 3, 2).ints("strides", 2, 2).ints("pads", 1, 0, 1, 1)
                            .attr("ceil_mode", ceil).in(x);
                    if (op.equals("AveragePool")) {
                        c.attr("count_include_pad", include);
                    }
                    c.check();
                }
            }
            f.node(op).ints("kernel_shape", 3, 3).ints("dilations", 2, 2).in(x).opset(19).check();
            f.node(op).ints("kernel_shape", 3, 3).attr("auto_pad", "SAME_UPPER").ints("strides", 2, 2).in(x).check();
            f.node(op).ints("kernel_shape", 4).ints("strides", 3).ints("pads", 2, 1).in(f.random(1, 2, 13)).check();
        }
        for (String op : new String[] {"GlobalAveragePool", "GlobalMaxPool"}) {
            f.node(op).in(x).check();
            f.node(op).in(f.random(3, 2, 7)).check();
            f.node(op).in(f.random(1, 2, 3, 4, 5)).check();
        }
    }

    @Test
    void batchNormalization() {
        int c = 5;
        Tensor scale = f.random(c), bias = f.random(c), mean = f.random(c), var = f.uniform(0.1f, 2f, c);
        for (int[] dims : new int[][] {{3, c}, {2, c, 7}, {2, c, 3, 4}, {1, c, 2, 3, 2}}) {
            Tensor x = f.random(dims);
            f.node("BatchNormalization").attr("epsilon", 1e-3f).in(x, scale, bias, mean, var).check();
            f.node("BatchNormalization").in(x, scale, bias, mean, var).constant(1, 2, 3, 4).check();
        }
        // float64 X with float32 statistics (opset 15's T1/T2)
        Tensor x = f.random(2, c, 3);
        Tensor mixed = f.node("BatchNormalization").opset(15).in(f.widen(x), scale, bias, mean, var).run(
                new Tensor[] {f.widen(x), scale, bias, mean, var})[0];
        Tensor all64 = f.node("BatchNormalization").in(f.widen(x), f.widen(scale), f.widen(bias), f.widen(mean),
                f.widen(var)).run(new Tensor[] {f.widen(x), f.widen(scale), f.widen(bias), f.widen(mean),
                f.widen(var)})[0];
        assertThat(Elements.toDoubles(mixed)).containsExactly(Elements.toDoubles(all64));
    }

    @Test
    void softmaxAndLogSoftmax() {
        Tensor x = f.uniform(-5f, 5f, 3, 4, 7);
        for (String op : new String[] {"Softmax", "LogSoftmax"}) {
            for (int axis = -3; axis < 3; axis++) {
                f.node(op).opset(13).attr("axis", (long) axis).in(x).check();
                f.node(op).opset(11).attr("axis", (long) axis).in(x).check();
            }
            f.node(op).opset(13).in(f.uniform(-5f, 5f, 1)).check();
            f.node(op).opset(1).in(f.uniform(-5f, 5f, 2, 3, 2)).check();
        }
    }

    @Test
    void float64KeepsDoublePrecision() {
        // values float32 cannot hold: the float64 paths must not round through float
        double third = 1.0 / 3;
        Tensor a = f.of(DType.FLOAT64, new int[] {1, 3}, third, third, third);
        Tensor b = f.of(DType.FLOAT64, new int[] {3, 1}, 3, 3, 3);
        Tensor y = f.node("MatMul").in(a, b).run(new Tensor[] {a, b})[0];
        assertThat(Elements.toDoubles(y)[0]).isEqualTo(third * 3 + third * 3 + third * 3);
        Tensor x = f.of(DType.FLOAT64, new int[] {1, 1, 1, 2}, 1 + 1e-12, 1);
        Tensor w = f.of(DType.FLOAT64, new int[] {1, 1, 1, 1}, 1);
        y = f.node("Conv").in(x, w).run(new Tensor[] {x, w})[0];
        assertThat(Elements.toDoubles(y)).containsExactly(1 + 1e-12, 1);
        y = f.node("AveragePool").ints("kernel_shape", 1, 2).in(x).run(new Tensor[] {x})[0];
        assertThat(Elements.toDoubles(y)[0]).isEqualTo((1 + 1e-12 + 1) / 2);
        y = f.node("Softmax").in(x).run(new Tensor[] {x})[0];
        assertThat(Elements.toDoubles(y)[0]).isNotEqualTo(0.5).isCloseTo(0.5, within(1e-12));
    }
}
