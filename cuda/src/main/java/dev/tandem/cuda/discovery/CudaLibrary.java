package dev.tandem.cuda.discovery;

import java.util.List;
import java.util.Locale;

/**
 * The native libraries the CUDA backend loads, with the file names to look for (newest first) and how to
 * install each. The explicit setting of a library is the system property {@code tandem.cuda.<key>} or the
 * environment variable {@code TANDEM_<KEY>} (e.g. {@code -Dtandem.cuda.libcublas=/opt/x/libcublas.so.13} or
 * {@code TANDEM_LIBCUBLAS=...}); it may name the file or the folder holding it.
 */
public enum CudaLibrary {
    /** The driver API; comes with the NVIDIA driver, never with the toolkit. */
    DRIVER("libcuda", "CUDA driver", List.of("libcuda.so.1", "libcuda.so"),
            "install the NVIDIA driver (it provides libcuda.so.1; in a container, run it with the GPU exposed, "
                    + "e.g. docker --gpus all)"),
    /** cuBLASLt: cuBLAS needs it loaded first. */
    CUBLAS_LT("libcublaslt", "cuBLASLt", List.of("libcublasLt.so.13", "libcublasLt.so.12"),
            "install cuBLAS (apt: libcublas-13-0 from NVIDIA's CUDA repository; pip: nvidia-cublas)"),
    /** cuBLAS: GEMMs. */
    CUBLAS("libcublas", "cuBLAS", List.of("libcublas.so.13", "libcublas.so.12"),
            "install cuBLAS (apt: libcublas-13-0 from NVIDIA's CUDA repository; pip: nvidia-cublas)"),
    /** NVRTC: compiles Tandem's CUDA C kernels at run time. */
    NVRTC("libnvrtc", "NVRTC", List.of("libnvrtc.so.13", "libnvrtc.so.12"),
            "install NVRTC (apt: cuda-nvrtc-13-0 from NVIDIA's CUDA repository; pip: nvidia-cuda-nvrtc)"),
    /** cuDNN 9: convolutions. */
    CUDNN("libcudnn", "cuDNN", List.of("libcudnn.so.9"),
            "install cuDNN 9 (apt: libcudnn9-cuda-13 from NVIDIA's CUDA repository; pip: nvidia-cudnn-cu13)");

    private final String key;
    private final String title;
    private final List<String> fileNames;
    private final String installHint;

    CudaLibrary(String key, String title, List<String> fileNames, String installHint) {
        this.key = key;
        this.title = title;
        this.fileNames = fileNames;
        this.installHint = installHint;
    }

    /** The lower-case key of the explicit settings, e.g. {@code libcublas}. */
    public String key() {
        return key;
    }

    /** The name people know it by, e.g. "cuBLAS". */
    public String title() {
        return title;
    }

    /** File names to look for in each folder, preferred first (e.g. CUDA 13's before CUDA 12's). */
    public List<String> fileNames() {
        return fileNames;
    }

    /** What to install when it is missing. */
    public String installHint() {
        return installHint;
    }

    /** The system property that names its file or folder: {@code tandem.cuda.<key>}. */
    public String property() {
        return "tandem.cuda." + key;
    }

    /** The environment variable that names its file or folder: {@code TANDEM_<KEY>}. */
    public String envVariable() {
        return "TANDEM_" + key.toUpperCase(Locale.ROOT);
    }
}
