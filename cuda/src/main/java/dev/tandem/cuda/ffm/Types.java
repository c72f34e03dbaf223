package dev.tandem.cuda.ffm;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * C types of the CUDA headers as FFM layouts, on 64-bit Linux: {@code int} and enums are {@link #INT}; {@code
 * size_t}, {@code CUdeviceptr} and {@code unsigned long long} are {@link #LONG}; opaque handles ({@code CUstream},
 * {@code cublasHandle_t}, ...) and pointers are {@link #PTR}.
 */
public final class Types {
    /** {@code int}, {@code unsigned int} and every C enum. */
    public static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    /** {@code size_t}, {@code long long}, {@code CUdeviceptr} (a device address). */
    public static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    /** {@code float}. */
    public static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;
    /** Pointers and opaque handles. */
    public static final AddressLayout PTR = ValueLayout.ADDRESS;

    private Types() {
    }

    /** The NUL-terminated string a C function returned a pointer to; "" for NULL. */
    public static String string(MemorySegment cString) {
        return cString.equals(MemorySegment.NULL) ? "" : cString.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
