package dev.tandem.train.nn;

import java.util.List;
import java.util.Locale;

/**
 * Ready-made classifiers for [N, channels, height, width] float32 inputs, returning [N, classes] logits.
 *
 * <ul>
 *   <li>{@code fashionnet}: the reference network of {@code BENCHMARKS.md}, generalised to any channel count and
 *       input size (at least 4×4): {@code features} = conv3×3(c→32) BN ReLU, conv3×3(32→32) BN ReLU, maxpool 2,
 *       conv3×3(32→64) BN ReLU, conv3×3(64→64) BN ReLU, maxpool 2 (convolutions padding 1, no bias);
 *       {@code flatten}; {@code classifier} = dropout 0.25, linear(→128), ReLU, linear(128→classes).</li>
 *   <li>{@code resnet8}, {@code resnet20}: CIFAR ResNets (6n+2 layers, n = 1 and 3): 3×3 stem to 16 channels,
 *       three stages of n {@link BasicBlock}s with 16, 32, 64 channels (stride 2 entering stages 2 and 3),
 *       global average pooling, linear.</li>
 *   <li>{@code mobilenet}: a small MobileNetV2: stem conv3×3 to 32 channels (stride 2 when the smaller input
 *       side is at least 64, else 1), {@link InvertedResidual}s (expansion, channels, repeats, stride) = (1,16,1,1),
 *       (6,24,2,2), (6,32,2,2), (6,64,2,2), (6,96,1,1), 1×1 conv to 256, global average pooling, dropout 0.2,
 *       linear.</li>
 * </ul>
 * Every model is freshly (randomly) initialised; call {@link Module#resetParameters(long)} for a seeded start.
 */
public final class Zoo {
    private static final List<String> ARCHITECTURES = List.of("fashionnet", "mobilenet", "resnet18", "resnet20",
            "resnet8");

    private Zoo() {
    }

    /** The architecture names {@link #create} knows, sorted. */
    public static List<String> architectures() {
        return ARCHITECTURES;
    }

    /**
     * A new model (the caller closes it).
     *
     * @param arch one of {@link #architectures()} (case-insensitive)
     * @throws IllegalArgumentException for an unknown architecture (listing the known ones), a non-positive size,
     *                                  or an input too small for the architecture
     */
    public static Module create(String arch, int channels, int height, int width, int classes) {
        if (channels < 1 || height < 1 || width < 1 || classes < 1) {
            throw new IllegalArgumentException("Zoo: channels, height, width and classes must be >= 1; got "
                    + channels + ", " + height + ", " + width + ", " + classes);
        }
        String a = arch == null ? "" : arch.toLowerCase(Locale.ROOT);
        return switch (a) {
            case "fashionnet" -> fashionNet(channels, height, width, classes);
            case "resnet8" -> cifarResNet(1, channels, classes);
            case "resnet20" -> cifarResNet(3, channels, classes);
            case "resnet18" -> resNet18(channels, classes);
            case "mobilenet" -> mobileNet(channels, height, width, classes);
            default -> throw new IllegalArgumentException("Unknown architecture '" + arch + "'; known: "
                    + String.join(", ", ARCHITECTURES));
        };
    }

    private static Module fashionNet(int channels, int height, int width, int classes) {
        if (height < 4 || width < 4) {
            throw new IllegalArgumentException("fashionnet needs an input of at least 4x4 (two 2x2 max pools); got "
                    + height + "x" + width);
        }
        Sequential features = new Sequential(
                conv3x3(channels, 32), new BatchNorm2d(32), new ReLU(),
                conv3x3(32, 32), new BatchNorm2d(32), new ReLU(), new MaxPool2d(2),
                conv3x3(32, 64), new BatchNorm2d(64), new ReLU(),
                conv3x3(64, 64), new BatchNorm2d(64), new ReLU(), new MaxPool2d(2));
        int flat;
        try {
            flat = flatSize(features, channels, height, width);
        } catch (RuntimeException e) {
            features.close();
            throw e;
        }
        Sequential classifier = new Sequential(new Dropout(0.25), new Linear(flat, 128), new ReLU(),
                new Linear(128, classes));
        return new Sequential().add("features", features).add("flatten", new Flatten())
                .add("classifier", classifier);
    }

    private static Module cifarResNet(int n, int channels, int classes) {
        Sequential net = new Sequential()
                .add("conv1", conv3x3(channels, 16))
                .add("bn1", new BatchNorm2d(16))
                .add("relu", new ReLU());
        int in = 16;
        int[] widths = {16, 32, 64};
        for (int s = 0; s < 3; s++) {
            Sequential stage = new Sequential();
            for (int b = 0; b < n; b++) {
                stage.add(new BasicBlock(in, widths[s], b == 0 && s > 0 ? 2 : 1));
                in = widths[s];
            }
            net.add("layer" + (s + 1), stage);
        }
        return net.add("avgpool", new AdaptiveAvgPool2d(1)).add("flatten", new Flatten())
                .add("fc", new Linear(in, classes));
    }

    /**
     * torchvision's ResNet-18 (the GPU benchmark's model): 7×7 stride-2 stem, 3×3 stride-2 max pool, four stages of
     * two basic blocks (64, 128, 256, 512 channels), global average pool, linear. Parameter names follow
     * torchvision's except the projections ({@code shortcut.0/1} for {@code downsample.0/1}).
     */
    private static Module resNet18(int channels, int classes) {
        Sequential net = new Sequential()
                .add("conv1", new Conv2d(channels, 64, 7, 2, 3, false))
                .add("bn1", new BatchNorm2d(64))
                .add("relu", new ReLU())
                .add("maxpool", new MaxPool2d(3, 2, 1));
        int in = 64;
        int[] widths = {64, 128, 256, 512};
        for (int s = 0; s < 4; s++) {
            Sequential stage = new Sequential();
            for (int b = 0; b < 2; b++) {
                stage.add(new BasicBlock(in, widths[s], b == 0 && s > 0 ? 2 : 1));
                in = widths[s];
            }
            net.add("layer" + (s + 1), stage);
        }
        return net.add("avgpool", new AdaptiveAvgPool2d(1)).add("flatten", new Flatten())
                .add("fc", new Linear(in, classes));
    }

    private static Module mobileNet(int channels, int height, int width, int classes) {
        int[][] settings = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 2, 2}, {6, 64, 2, 2}, {6, 96, 1, 1}};
        int stem = Math.min(height, width) >= 64 ? 2 : 1;
        Sequential features = new Sequential(InvertedResidual.convBnRelu6(channels, 32, 3, stem, 1));
        int in = 32;
        for (int[] s : settings) {
            for (int i = 0; i < s[2]; i++) {
                features.add(new InvertedResidual(in, s[1], i == 0 ? s[3] : 1, s[0]));
                in = s[1];
            }
        }
        features.add(InvertedResidual.convBnRelu6(in, 256, 1, 1, 1));
        return new Sequential().add("features", features).add("avgpool", new AdaptiveAvgPool2d(1))
                .add("flatten", new Flatten())
                .add("classifier", new Sequential(new Dropout(0.2), new Linear(256, classes)));
    }

    private static Conv2d conv3x3(int in, int out) {
        return new Conv2d(in, out, 3, 1, 1, false);
    }

    private static int flatSize(Module features, int channels, int height, int width) {
        dev.tandem.runtime.tensor.Shape s = features.outputShape(1, channels, height, width);
        return Math.toIntExact(s.size());
    }
}
