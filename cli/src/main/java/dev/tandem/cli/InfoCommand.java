package dev.tandem.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tandem info}: the JVM and machine Tandem runs on, as aligned text or, with {@code --json}, JSON. */
@Command(
        name = "info",
        mixinStandardHelpOptions = true,
        description = "Show the Java runtime, processors, vector width, OS and memory Tandem runs with.")
public final class InfoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? toJson(facts()) : toText(facts()));
        out.flush();
        return 0;
    }

    /** Each fact under its JSON key; values are String, Integer, Long or null. */
    static Map<String, Object> facts() {
        Map<String, Object> f = new LinkedHashMap<>();
        f.put("tandemVersion", JvmFacts.tandemVersion());
        f.put("javaVersion", JvmFacts.javaVersion());
        f.put("javaVendor", JvmFacts.javaVendor());
        f.put("javaHome", System.getProperty("java.home"));
        f.put("availableProcessors", Runtime.getRuntime().availableProcessors());
        OptionalInt bits = JvmFacts.preferredVectorBits();
        f.put("vectorBitSize", bits.isPresent() ? bits.getAsInt() : null);
        f.put("osName", System.getProperty("os.name"));
        f.put("osVersion", System.getProperty("os.version"));
        f.put("osArch", System.getProperty("os.arch"));
        f.put("maxHeapBytes", Runtime.getRuntime().maxMemory());
        return f;
    }

    static String toText(Map<String, Object> f) {
        String[][] rows = {
            {"Tandem", (String) f.get("tandemVersion")},
            {"Java", f.get("javaVersion") + " (" + f.get("javaVendor") + ")"},
            {"java.home", (String) f.get("javaHome")},
            {"processors", String.valueOf(f.get("availableProcessors"))},
            {"vector width", JvmFacts.vectorWidthText()},
            {"OS", f.get("osName") + " " + f.get("osVersion") + " (" + f.get("osArch") + ")"},
            {"max heap", mib((Long) f.get("maxHeapBytes"))},
        };
        int width = 0;
        for (String[] row : rows) {
            width = Math.max(width, row[0].length());
        }
        StringBuilder sb = new StringBuilder();
        for (String[] row : rows) {
            sb.append(String.format("%-" + width + "s  %s%n", row[0], row[1]));
        }
        return sb.toString();
    }

    static String toJson(Map<String, Object> f) {
        StringBuilder sb = new StringBuilder("{");
        String sep = "";
        for (Map.Entry<String, Object> e : f.entrySet()) {
            sb.append(sep).append('\n').append("  ").append(quote(e.getKey())).append(": ");
            Object v = e.getValue();
            sb.append(v == null ? "null" : v instanceof Number ? v.toString() : quote(v.toString()));
            sep = ",";
        }
        return sb.append("\n}\n").toString();
    }

    private static String mib(long bytes) {
        return bytes == Long.MAX_VALUE ? "unlimited" : (bytes >> 20) + " MiB";
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }
}
