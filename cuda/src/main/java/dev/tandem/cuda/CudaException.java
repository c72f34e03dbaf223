package dev.tandem.cuda;

import java.util.Objects;

/**
 * A CUDA call that failed, or a CUDA library that could not be found or loaded. A failed call's message names the
 * library, the call and CUDA's own error name and text, e.g. {@code cuMemAlloc_v2 failed:
 * CUDA_ERROR_OUT_OF_MEMORY (out of memory) [driver, code 2]}.
 */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int code;
    private final String errorName;

    /** A failure that is no single call's return code (a missing library or symbol, a bad argument). */
    public CudaException(String message) {
        this(message, null);
    }

    /** As {@link #CudaException(String)}, with the cause. */
    public CudaException(String message, Throwable cause) {
        super(message, cause);
        this.call = "";
        this.code = 0;
        this.errorName = "";
    }

    /**
     * A call that returned {@code code}.
     *
     * @param library which library ("driver", "cuBLAS", "NVRTC", "cuDNN")
     * @param call the C function, e.g. {@code cuMemAlloc_v2}
     * @param code its return code
     * @param errorName the library's name for the code (e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}), or ""
     * @param errorText the library's description of the code, or ""
     */
    public CudaException(String library, String call, int code, String errorName, String errorText) {
        super(call + " failed: " + (errorName.isEmpty() ? "error " + code : errorName)
                + (errorText.isEmpty() || errorText.equals(errorName) ? "" : " (" + errorText + ")")
                + " [" + library + ", code " + code + "]");
        this.call = Objects.requireNonNull(call);
        this.code = code;
        this.errorName = Objects.requireNonNull(errorName);
    }

    /** The C function that failed, or "" when the failure was not a call's return code. */
    public String call() {
        return call;
    }

    /** The call's return code (0 when the failure was not a call's return code). */
    public int code() {
        return code;
    }

    /** The library's name for {@link #code()}, e.g. {@code CUDA_ERROR_NO_DEVICE}, or "". */
    public String errorName() {
        return errorName;
    }
}
