package dev.tandem.runtime.kernels;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/** Argument checks shared by the kernels, so every kernel words its shape and dtype errors the same way. */
final class TensorChecks {
    private TensorChecks() {
    }

    /** {@code t} must be float32 (any layout). */
    static void requireFloat(String op, String role, Tensor t) {
        if (t.dtype() != DType.FLOAT32) {
            throw new IllegalArgumentException(op + " " + role + " must be float32; got " + t);
        }
    }

    /** {@code t} must be contiguous float32 of rank {@code rank}; {@code layout} describes it, e.g. "[N, C, H, W]". */
    static void requireContiguous(String op, String role, Tensor t, int rank, String layout) {
        if (t.dtype() != DType.FLOAT32 || t.rank() != rank || !t.isContiguous()) {
            throw new IllegalArgumentException(op + " " + role + " must be contiguous float32 " + layout + "; got "
                    + t + (t.isContiguous() ? "" : " (call contiguous() first)"));
        }
    }

    /** {@code t} must be contiguous float32 with exactly the shape {@code expected}. */
    static void requireContiguous(String op, String role, Tensor t, Shape expected) {
        requireContiguous(op, role, t, DType.FLOAT32, expected);
    }

    /** {@code t} must be contiguous, of dtype {@code dtype}, with exactly the shape {@code expected}. */
    static void requireContiguous(String op, String role, Tensor t, DType dtype, Shape expected) {
        if (t.dtype() != dtype || !t.shape().equals(expected) || !t.isContiguous()) {
            throw new IllegalArgumentException(op + " " + role + " must be contiguous " + name(dtype) + " " + expected
                    + "; got " + t);
        }
    }

    /** Rejects an output that the kernel would write twice through a zero stride. */
    static void requireNoBroadcast(String op, String role, Tensor t) {
        long[] st = t.strides();
        for (int i = 0; i < st.length; i++) {
            if (st[i] == 0 && t.shape().dim(i) > 1) {
                throw new IllegalArgumentException(op + " " + role + " must not be a broadcast view (axis " + i
                        + " has stride 0); got " + t);
            }
        }
    }

    private static String name(DType t) {
        return t.name().toLowerCase(java.util.Locale.ROOT);
    }
}
