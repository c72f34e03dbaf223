package dev.tandem.train.nn;

/**
 * The residual block of CIFAR ResNets (He et al. 2016, two 3×3 convolutions): {@code conv1} (stride
 * {@code stride}) → {@code bn1} → ReLU → {@code conv2} → {@code bn2}, plus the shortcut, then ReLU. The shortcut
 * is the identity when the shape is kept, else {@code shortcut} = 1×1 convolution (stride {@code stride}) + BN
 * (the projection "option B"). Convolutions have no bias.
 */
public final class BasicBlock extends Module {
    private final Conv2d conv1;
    private final BatchNorm2d bn1;
    private final Conv2d conv2;
    private final BatchNorm2d bn2;
    private final Sequential shortcut;

    public BasicBlock(int inPlanes, int planes, int stride) {
        conv1 = register("conv1", new Conv2d(inPlanes, planes, 3, stride, 1, false));
        bn1 = register("bn1", new BatchNorm2d(planes));
        conv2 = register("conv2", new Conv2d(planes, planes, 3, 1, 1, false));
        bn2 = register("bn2", new BatchNorm2d(planes));
        shortcut = stride != 1 || inPlanes != planes
                ? register("shortcut", new Sequential(new Conv2d(inPlanes, planes, 1, stride, 0, false),
                        new BatchNorm2d(planes)))
                : null;
    }

    /** True when the shortcut is a projection (1×1 convolution + BN), false for the identity. */
    public boolean projects() {
        return shortcut != null;
    }

    @Override
    public Var forward(Var x) {
        Var y = Functional.relu(bn1.call(conv1.call(x)));
        y = bn2.call(conv2.call(y));
        Var s = shortcut == null ? x : shortcut.call(x);
        return Functional.relu(Functional.add(y, s));
    }
}
