package dev.tandem.runtime.autodiff;

import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Value;
import java.util.ArrayList;
import java.util.List;

/** Gradient rules of the ops that only move data: the gradient moves back the same way. */
final class ShapeRules {
    private ShapeRules() {
    }

    static void register(Rules r) {
        for (String op : List.of("Flatten", "Reshape", "Squeeze", "Unsqueeze")) {
            r.add(op, c -> new Value[] {c.op("Reshape", List.of(c.dy(0), c.shapeOf(c.x(0)))), null});
        }
        r.add("Transpose", c -> {
            Attribute perm = c.node().attribute("perm");
            if (perm == null) {
                return new Value[] {c.op("Transpose", List.of(c.dy(0)))};
            }
            long[] p = (long[]) perm.value();
            long[] inv = new long[p.length];
            for (int i = 0; i < p.length; i++) {
                inv[(int) p[i]] = i;
            }
            return new Value[] {c.op("Transpose", List.of(c.dy(0)), Attribute.of("perm", inv))};
        });
        r.add("Concat", c -> {
            // Split dY along the axis into the inputs' sizes (known at plan time from their shapes).
            long axis = (Long) c.node().attribute("axis").value();
            int k = c.node().inputs().size();
            List<Value> sizes = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                sizes.add(c.op("Gather", List.of(c.shapeOf(c.x(i)), c.ints(axis))));
            }
            Value split = c.op("Concat", sizes, Attribute.of("axis", 0L));
            Value[] parts = c.opset() >= 13
                    ? c.emit("", "Split", k, List.of(c.dy(0), split), List.of(Attribute.of("axis", axis)))
                    : null;
            if (parts == null) {
                throw new dev.tandem.runtime.UnsupportedModelException("No gradient for " + c.node().describe()
                        + " before opset 13");
            }
            Value[] out = new Value[k];
            for (int i = 0; i < k; i++) {
                out[i] = c.needs(i) ? parts[i] : null;
            }
            return out;
        });
    }
}
