package dev.tandem.train.nn;

import java.util.ArrayList;
import java.util.List;

/**
 * Children applied in order, as {@code torch.nn.Sequential}: named {@code "0"}, {@code "1"}, … when added
 * without a name, or by the names given ({@link #add(String, Module)}, like an {@code OrderedDict}).
 */
public final class Sequential extends Module {
    private final List<Module> order = new ArrayList<>();

    public Sequential(Module... modules) {
        for (Module m : modules) {
            add(m);
        }
    }

    /** Appends {@code m} named by its position; returns this. */
    public Sequential add(Module m) {
        return add(Integer.toString(order.size()), m);
    }

    /** Appends {@code m} under {@code name}; returns this. */
    public Sequential add(String name, Module m) {
        register(name, m);
        order.add(m);
        return this;
    }

    /** The {@code i}-th child. */
    public Module get(int i) {
        return order.get(i);
    }

    public int size() {
        return order.size();
    }

    @Override
    public Var forward(Var x) {
        Var y = x;
        for (Module m : order) {
            y = m.call(y);
        }
        return y;
    }
}
