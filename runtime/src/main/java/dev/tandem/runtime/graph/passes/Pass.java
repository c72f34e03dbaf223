package dev.tandem.runtime.graph.passes;

import dev.tandem.runtime.graph.Graph;

/**
 * One graph transformation, run when a model is loaded, before any plan. A pass must keep the graph's results
 * the same (up to float rounding) for every input, and leave the nodes topologically sorted.
 */
public interface Pass {
    /** A short name for logs and {@code tandem inspect}. */
    String name();

    /** Transforms the graph in place; returns true when anything changed. */
    boolean apply(Graph graph, PassContext ctx);
}
