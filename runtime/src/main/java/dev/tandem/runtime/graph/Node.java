package dev.tandem.runtime.graph;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One operation of a {@link Graph}: an op type in a domain ("" is the ONNX default domain; Tandem's fused ops
 * live in {@link #TANDEM_DOMAIN}), inputs (an absent optional input is a null entry), outputs and attributes.
 */
public final class Node {
    /** The domain of ops Tandem's optimizer creates (fused convolutions and the like). */
    public static final String TANDEM_DOMAIN = "dev.tandem";

    private final String name;
    private final String opType;
    private final String domain;
    private final List<Value> inputs;
    private final List<Value> outputs;
    private final Map<String, Attribute> attributes;

    public Node(String name, String opType, String domain, List<Value> inputs, List<Value> outputs,
                Map<String, Attribute> attributes) {
        this.name = name;
        this.opType = opType;
        this.domain = domain == null || domain.equals("ai.onnx") ? "" : domain;
        this.inputs = new ArrayList<>(inputs);
        this.outputs = new ArrayList<>(outputs);
        this.attributes = new LinkedHashMap<>(attributes);
    }

    public String name() {
        return name;
    }

    public String opType() {
        return opType;
    }

    public String domain() {
        return domain;
    }

    /** Inputs in order; absent optional inputs are null. Mutable for optimizer passes. */
    public List<Value> inputs() {
        return inputs;
    }

    /** The input at {@code i}, or null when absent or past the end. */
    public Value input(int i) {
        return i < inputs.size() ? inputs.get(i) : null;
    }

    public List<Value> outputs() {
        return Collections.unmodifiableList(outputs);
    }

    public Value output(int i) {
        return outputs.get(i);
    }

    /** Attributes by name. Mutable for optimizer passes. */
    public Map<String, Attribute> attributes() {
        return attributes;
    }

    public Attribute attribute(String name) {
        return attributes.get(name);
    }

    /** Like {@code Conv 'layer1.0/conv1'}. */
    public String describe() {
        return (domain.isEmpty() ? "" : domain + ".") + opType + " '" + name + "'";
    }

    @Override
    public String toString() {
        return describe();
    }
}
