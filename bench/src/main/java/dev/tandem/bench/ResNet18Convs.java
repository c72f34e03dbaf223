package dev.tandem.bench;

import dev.tandem.runtime.kernels.ConvParams;
import java.util.List;

/**
 * The distinct convolutions of torchvision's ResNet-18 at batch 1, 3×224×224, with how often each occurs.
 * As a GEMM each is M = out channels, N = output pixels, K = in channels × kernel area.
 */
public final class ResNet18Convs {
    private ResNet18Convs() {
    }

    /** One convolution layer shape. */
    public record Layer(String name, int cin, int cout, int hw, int kernel, int stride, int pad, int count) {
        public ConvParams params() {
            return ConvParams.square(kernel, stride, pad);
        }

        public int outHw() {
            return params().outH(hw);
        }

        public int m() {
            return cout;
        }

        public int n() {
            return outHw() * outHw();
        }

        public int k() {
            return cin * kernel * kernel;
        }

        public double flops() {
            return 2.0 * m() * n() * k();
        }
    }

    public static final List<Layer> LAYERS = List.of(
            new Layer("conv1_7x7s2", 3, 64, 224, 7, 2, 3, 1),
            new Layer("l1_3x3_64", 64, 64, 56, 3, 1, 1, 4),
            new Layer("l2_3x3s2_128", 64, 128, 56, 3, 2, 1, 1),
            new Layer("l2_3x3_128", 128, 128, 28, 3, 1, 1, 3),
            new Layer("l2_down_1x1s2", 64, 128, 56, 1, 2, 0, 1),
            new Layer("l3_3x3s2_256", 128, 256, 28, 3, 2, 1, 1),
            new Layer("l3_3x3_256", 256, 256, 14, 3, 1, 1, 3),
            new Layer("l3_down_1x1s2", 128, 256, 28, 1, 2, 0, 1),
            new Layer("l4_3x3s2_512", 256, 512, 14, 3, 2, 1, 1),
            new Layer("l4_3x3_512", 512, 512, 7, 3, 1, 1, 3),
            new Layer("l4_down_1x1s2", 256, 512, 14, 1, 2, 0, 1));

    public static Layer byName(String name) {
        return LAYERS.stream().filter(l -> l.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("No ResNet-18 layer " + name));
    }
}
