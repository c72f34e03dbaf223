package dev.tandem.cuda.kernels;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * One compilation unit of Tandem's CUDA C kernels: the shared prelude ({@code common.cuh}) followed by one
 * {@code .cu} file from {@code src/main/resources/dev/tandem/cuda/kernels/}, and the kernels it declares.
 *
 * @param name the file name, e.g. {@code elementwise.cu}
 * @param text the full source compiled (prelude included)
 * @param kernels the kernels it declares
 */
public record KernelSource(String name, String text, List<KernelSignature> kernels) {
    public KernelSource {
        kernels = List.copyOf(kernels);
    }

    /** SHA-256 of the text, hex: part of the PTX cache key. */
    public String sha256() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
