package dev.tandem.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpRegistry;
import dev.tandem.runtime.plan.ExecutionPlan;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tandem inspect}: what a model holds and what running it costs; or, with {@code --ops}, the ops Tandem runs. */
@Command(
        name = "inspect",
        mixinStandardHelpOptions = true,
        description = {"Describe a model: inputs, outputs, metadata, op counts as loaded and after optimization,",
            "parameters, multiply-adds, arena and weight bytes (as held once planned: packed, Winograd) and their",
            "sum (at batch 1), optimizer passes.",
            "With --ops (and no --model): the ops Tandem supports."})
public final class InspectCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "M.onnx", description = "The ONNX model.")
    Path model;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Option(names = "--ops", description = "List the supported ops (domain.type, minimum opset).")
    boolean ops;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        if (ops) {
            if (model != null) {
                throw new ParameterException(spec.commandLine(), "--ops lists the supported ops; give it without --model");
            }
            Map<String, Op> all = OpRegistry.standard().all();
            if (json) {
                List<Map<String, Object>> l = new ArrayList<>();
                for (Map.Entry<String, Op> e : all.entrySet()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("op", e.getKey());
                    m.put("domain", e.getValue().domain());
                    m.put("min_opset", e.getValue().minOpset());
                    l.add(m);
                }
                out.println(mapper.writeValueAsString(l));
            } else {
                for (Map.Entry<String, Op> e : all.entrySet()) {
                    out.println(e.getKey() + " (opset " + e.getValue().minOpset() + "+)");
                }
                out.println(all.size() + " ops");
            }
            out.flush();
            return 0;
        }
        if (model == null) {
            throw new ParameterException(spec.commandLine(), "Give --model M.onnx, or --ops to list the supported ops");
        }
        Map<String, Object> f = new LinkedHashMap<>();
        try (Model m = Model.load(model, Model.Options.defaults().withThreads(1))) {
            f.put("model", model.toString());
            f.put("producer", m.graph().producer());
            f.put("ir_version", m.graph().irVersion());
            Map<String, Integer> opsets = new java.util.TreeMap<>();
            m.graph().opsets().forEach((d, v) -> opsets.put(d.isEmpty() ? "ai.onnx" : d, v));
            f.put("opsets", opsets);
            f.put("inputs", io(m.inputs()));
            f.put("outputs", io(m.outputs()));
            f.put("metadata", m.metadata());
            f.put("ops_loaded", m.loadedOpCounts());
            f.put("parameters", m.parameterCount());
            // the weights as held once planned (packed, transformed for Winograd), as the memory budget counts them
            f.put("weight_bytes", m.weightBytes());
            f.put("passes", m.passChanges());
            try {
                ExecutionPlan plan = m.plan(Map.of());
                f.put("weight_bytes", m.weightBytes());
                f.put("ops_optimized", plan.stepCounts());
                f.put("multiply_adds", plan.multiplyAdds());
                f.put("arena_bytes", plan.arenaBytes());
                f.put("memory_bytes", m.weightBytes() + plan.arenaBytes());
            } catch (ModelException e) {
                f.put("ops_optimized", null);
                f.put("multiply_adds", null);
                f.put("arena_bytes", null);
                f.put("memory_bytes", null);
                f.put("plan_error", CliErrors.message(e));
            }
        }
        if (json) {
            out.println(mapper.writeValueAsString(f));
        } else {
            out.print(text(f));
        }
        out.flush();
        return 0;
    }

    private static List<Map<String, String>> io(List<Model.IoInfo> l) {
        List<Map<String, String>> out = new ArrayList<>();
        for (Model.IoInfo i : l) {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("name", i.name());
            m.put("type", i.type() == null ? "?" : i.type().describe());
            out.add(m);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static String text(Map<String, Object> f) {
        StringBuilder sb = new StringBuilder();
        sb.append("model         ").append(f.get("model")).append('\n');
        sb.append("producer      ").append(f.get("producer")).append(", IR ").append(f.get("ir_version"))
                .append(", opsets ").append(f.get("opsets")).append('\n');
        for (String k : List.of("inputs", "outputs")) {
            sb.append(k).append('\n');
            for (Map<String, String> m : (List<Map<String, String>>) f.get(k)) {
                sb.append("  ").append(m.get("name")).append(": ").append(m.get("type")).append('\n');
            }
        }
        Map<String, String> meta = (Map<String, String>) f.get("metadata");
        sb.append("metadata").append(meta.isEmpty() ? " (none)" : "").append('\n');
        meta.forEach((k, v) -> sb.append("  ").append(k).append(" = ").append(v).append('\n'));
        sb.append("ops as loaded   ").append(counts((Map<String, Integer>) f.get("ops_loaded"))).append('\n');
        Object opt = f.get("ops_optimized");
        sb.append("ops optimized   ").append(opt == null ? "(no plan: " + f.get("plan_error") + ")"
                : counts((Map<String, Integer>) opt)).append('\n');
        sb.append("parameters      ").append(f.get("parameters")).append('\n');
        sb.append("multiply-adds   ").append(opt == null ? "?" : f.get("multiply_adds")).append(" (batch 1)\n");
        sb.append("arena bytes     ").append(opt == null ? "?" : f.get("arena_bytes")).append(" (batch 1)\n");
        sb.append("weight bytes    ").append(f.get("weight_bytes")).append('\n');
        sb.append("memory bytes    ").append(opt == null ? "?" : f.get("memory_bytes"))
                .append(" (weights + arena, batch 1: what --max-memory must allow)\n");
        Map<String, Integer> passes = (Map<String, Integer>) f.get("passes");
        sb.append("passes applied  ").append(passes.isEmpty() ? "(none)" : counts(passes)).append('\n');
        return sb.toString();
    }

    private static String counts(Map<String, Integer> m) {
        List<String> parts = new ArrayList<>();
        m.forEach((k, v) -> parts.add(k + " " + v));
        return String.join(", ", parts);
    }
}
