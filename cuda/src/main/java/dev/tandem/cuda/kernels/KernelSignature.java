package dev.tandem.cuda.kernels;

import dev.tandem.cuda.driver.KernelArgs;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The name and parameter kinds of one {@code extern "C" __global__} kernel, read from its CUDA C source, so that a
 * launch can be checked against it before the driver sees the arguments (a wrong argument on the GPU is silent
 * memory corruption, not an error).
 *
 * @param name the kernel's C name
 * @param params the kind of each parameter, in order
 * @param declarations each parameter as written in the source (for messages)
 */
public record KernelSignature(String name, List<KernelArgs.Kind> params, List<String> declarations) {
    private static final Pattern KERNEL = Pattern.compile(
            "extern\\s+\"C\"\\s+__global__\\s+void\\s+(\\w+)\\s*\\(([^)]*)\\)");

    public KernelSignature {
        params = List.copyOf(params);
        declarations = List.copyOf(declarations);
    }

    /** Every kernel declared in {@code source}, in order. */
    public static List<KernelSignature> parseAll(String source) {
        List<KernelSignature> out = new ArrayList<>();
        Matcher m = KERNEL.matcher(stripComments(source));
        while (m.find()) {
            out.add(parse(m.group(1), m.group(2)));
        }
        return out;
    }

    private static KernelSignature parse(String name, String paramList) {
        List<KernelArgs.Kind> kinds = new ArrayList<>();
        List<String> decls = new ArrayList<>();
        if (!paramList.isBlank()) {
            for (String raw : paramList.split(",")) {
                String p = raw.strip().replaceAll("\\s+", " ");
                decls.add(p);
                kinds.add(kind(name, p));
            }
        }
        return new KernelSignature(name, kinds, decls);
    }

    private static KernelArgs.Kind kind(String kernel, String param) {
        if (param.contains("*")) {
            return KernelArgs.Kind.POINTER;
        }
        // Drop the parameter's name and qualifiers, keep the type words.
        String type = param.substring(0, param.lastIndexOf(' ') < 0 ? param.length() : param.lastIndexOf(' '))
                .replace("const", "").replace("unsigned", "").strip().toLowerCase(Locale.ROOT);
        return switch (type) {
            case "int", "" -> KernelArgs.Kind.INT;
            case "long long", "size_t" -> KernelArgs.Kind.LONG;
            case "float" -> KernelArgs.Kind.FLOAT;
            default -> throw new IllegalArgumentException("kernel " + kernel + ": parameter '" + param
                    + "' has a type Tandem cannot pass (pointers, int, long long, float)");
        };
    }

    /** Throws {@link IllegalArgumentException} unless {@code given} matches the parameters' kinds. */
    public void check(List<KernelArgs.Kind> given) {
        if (!given.equals(params)) {
            throw new IllegalArgumentException("kernel " + name + "(" + String.join(", ", declarations)
                    + ") takes " + params + " but was given " + given);
        }
    }

    static String stripComments(String s) {
        return s.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", " ");
    }
}
