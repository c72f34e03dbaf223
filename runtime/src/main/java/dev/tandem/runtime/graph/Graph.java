package dev.tandem.runtime.graph;

import dev.tandem.runtime.ModelFormatException;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Tandem's graph IR: nodes in topological order over {@link Value}s, the graph's inputs and outputs, the opset
 * versions it was written against, and the model's metadata. ONNX is this IR on disk ({@code onnx.OnnxReader}).
 *
 * <p>A graph owns its constant tensors and frees them on {@link #close()}. Optimizer passes mutate it in place
 * before any run; a graph is not safe for concurrent mutation, and is read-only once a model is loaded.
 */
public final class Graph implements AutoCloseable {
    private final List<Node> nodes = new ArrayList<>();
    private final List<Value> inputs = new ArrayList<>();
    private final List<Value> outputs = new ArrayList<>();
    private final Map<String, Value> values = new HashMap<>();
    private final Map<String, Integer> opsets = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private String name = "";
    private String producerName = "";
    private String producerVersion = "";
    private String docString = "";
    private long irVersion;
    private int nameCounter;
    private boolean closed;

    /** The value named {@code name}, created when new. */
    public Value value(String name) {
        return values.computeIfAbsent(name, Value::new);
    }

    /** The value named {@code name}, or null. */
    public Value find(String name) {
        return values.get(name);
    }

    /** A new value with a name not yet used, starting with {@code hint}. */
    public Value newValue(String hint) {
        String n;
        do {
            n = hint + "__" + nameCounter++;
        } while (values.containsKey(n));
        return value(n);
    }

    /** Appends a node (call {@link #sort()} after inserting out of order). */
    public Node add(Node node) {
        for (Value out : node.outputs()) {
            out.setProducer(node);
        }
        nodes.add(node);
        return node;
    }

    /** Inserts {@code node} right after {@code after} (or first when null). */
    public Node insertAfter(Node after, Node node) {
        for (Value out : node.outputs()) {
            out.setProducer(node);
        }
        nodes.add(after == null ? 0 : nodes.indexOf(after) + 1, node);
        return node;
    }

    /** Removes a node; its outputs no longer have a producer. */
    public void remove(Node node) {
        nodes.remove(node);
        for (Value out : node.outputs()) {
            if (out.producer() == node) {
                out.setProducer(null);
            }
        }
    }

    /** Makes every reader of {@code from} (nodes and graph outputs) read {@code to} instead. */
    public void replaceUses(Value from, Value to) {
        for (Node n : nodes) {
            List<Value> in = n.inputs();
            for (int i = 0; i < in.size(); i++) {
                if (in.get(i) == from) {
                    in.set(i, to);
                }
            }
        }
        for (int i = 0; i < outputs.size(); i++) {
            if (outputs.get(i) == from) {
                outputs.set(i, to);
            }
        }
    }

    /** For every value, the nodes reading it (in node order; a node reading a value twice appears twice). */
    public Map<Value, List<Node>> consumers() {
        Map<Value, List<Node>> map = new IdentityHashMap<>();
        for (Node n : nodes) {
            for (Value v : n.inputs()) {
                if (v != null) {
                    map.computeIfAbsent(v, k -> new ArrayList<>()).add(n);
                }
            }
        }
        return map;
    }

    /**
     * Puts the nodes in topological order and checks that every value read is produced, constant or a graph
     * input.
     *
     * @throws ModelFormatException naming the node and value when a value has no source or the graph has a cycle
     */
    public void sort() {
        Set<Value> available = Collections.newSetFromMap(new IdentityHashMap<>());
        available.addAll(inputs);
        for (Value v : values.values()) {
            if (v.isConstant()) {
                available.add(v);
            }
        }
        Map<Value, Node> producerOf = new IdentityHashMap<>();
        for (Node n : nodes) {
            for (Value out : n.outputs()) {
                if (producerOf.put(out, n) != null) {
                    throw new ModelFormatException("Value '" + out.name() + "' is produced by two nodes: "
                            + n.describe() + " and " + producerOf.get(out).describe());
                }
                if (available.contains(out) && inputs.contains(out)) {
                    throw new ModelFormatException("Node " + n.describe() + " writes graph input '" + out.name()
                            + "'");
                }
            }
        }
        Map<Node, Integer> missing = new IdentityHashMap<>();
        Map<Value, List<Node>> waiting = new IdentityHashMap<>();
        ArrayDeque<Node> ready = new ArrayDeque<>();
        for (Node n : nodes) {
            int m = 0;
            for (Value v : new HashSet<>(nonNull(n.inputs()))) {
                if (!available.contains(v)) {
                    if (!producerOf.containsKey(v)) {
                        throw new ModelFormatException("Node " + n.describe() + " reads '" + v.name()
                                + "', which is not a graph input, an initializer or any node's output");
                    }
                    m++;
                    waiting.computeIfAbsent(v, k -> new ArrayList<>()).add(n);
                }
            }
            missing.put(n, m);
            if (m == 0) {
                ready.add(n);
            }
        }
        List<Node> order = new ArrayList<>(nodes.size());
        while (!ready.isEmpty()) {
            Node n = ready.poll();
            order.add(n);
            for (Value out : n.outputs()) {
                for (Node w : waiting.getOrDefault(out, List.of())) {
                    if (missing.merge(w, -1, Integer::sum) == 0) {
                        ready.add(w);
                    }
                }
            }
        }
        if (order.size() != nodes.size()) {
            Node stuck = nodes.stream().filter(n -> missing.get(n) > 0).findFirst().orElseThrow();
            throw new ModelFormatException("The graph has a cycle through node " + stuck.describe());
        }
        for (Value out : outputs) {
            if (!available.contains(out) && !producerOf.containsKey(out)) {
                throw new ModelFormatException("Graph output '" + out.name() + "' is not computed by any node");
            }
        }
        nodes.clear();
        nodes.addAll(order);
    }

    private static List<Value> nonNull(List<Value> vs) {
        List<Value> out = new ArrayList<>(vs.size());
        for (Value v : vs) {
            if (v != null) {
                out.add(v);
            }
        }
        return out;
    }

    /** Nodes in execution order. Mutable for optimizer passes (prefer {@link #add}, {@link #remove}). */
    public List<Node> nodes() {
        return nodes;
    }

    /** Graph inputs that are not initializers, in declaration order. */
    public List<Value> inputs() {
        return inputs;
    }

    public List<Value> outputs() {
        return outputs;
    }

    /** Every value, by name. */
    public Map<String, Value> values() {
        return Collections.unmodifiableMap(values);
    }

    /** Opset versions by domain ("" for the ONNX default domain). */
    public Map<String, Integer> opsets() {
        return opsets;
    }

    /**
     * The opset version imported for {@code domain}, or 0 when none. Tandem's own (fused) ops follow the default
     * domain's version.
     */
    public int opset(String domain) {
        String d = domain == null || domain.equals("ai.onnx") ? "" : domain;
        if (d.equals(Node.TANDEM_DOMAIN)) {
            d = "";
        }
        return opsets.getOrDefault(d, 0);
    }

    /** The model's {@code metadata_props}, in file order. Mutable. */
    public Map<String, String> metadata() {
        return metadata;
    }

    public String name() {
        return name;
    }

    public void setName(String name) {
        this.name = name == null ? "" : name;
    }

    /** "producer_name producer_version" from the file (or as set), trimmed. */
    public String producer() {
        return (producerName + " " + producerVersion).trim();
    }

    /** The tool that wrote the model (ONNX {@code producer_name}), or "". */
    public String producerName() {
        return producerName;
    }

    /** Its version (ONNX {@code producer_version}), or "". */
    public String producerVersion() {
        return producerVersion;
    }

    /** Sets the producer as one string (the name; no separate version). */
    public void setProducer(String producer) {
        setProducer(producer, "");
    }

    public void setProducer(String name, String version) {
        this.producerName = name == null ? "" : name;
        this.producerVersion = version == null ? "" : version;
    }

    /** The model's documentation (ONNX {@code ModelProto.doc_string}), or "". */
    public String docString() {
        return docString;
    }

    public void setDocString(String docString) {
        this.docString = docString == null ? "" : docString;
    }

    /** The ONNX IR version of the file the graph was read from; 0 for a graph built in code. */
    public long irVersion() {
        return irVersion;
    }

    public void setIrVersion(long irVersion) {
        this.irVersion = irVersion;
    }

    /** Frees every constant this graph holds. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Value v : values.values()) {
            Tensor t = v.constant();
            if (t != null) {
                t.close();
            }
        }
        for (Node n : nodes) {
            for (Attribute a : n.attributes().values()) {
                if (a.value() instanceof Tensor t) {
                    t.close();
                }
            }
        }
    }
}
