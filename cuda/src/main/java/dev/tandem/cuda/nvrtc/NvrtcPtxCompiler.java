package dev.tandem.cuda.nvrtc;

import dev.tandem.cuda.kernels.KernelSource;
import dev.tandem.cuda.kernels.PtxCompiler;
import java.util.List;

/** Compiles Tandem's kernel sources to PTX with NVRTC: {@code --gpu-architecture=<arch> --std=c++17}. */
public final class NvrtcPtxCompiler implements PtxCompiler {
    private final Nvrtc nvrtc;
    private final String version;

    /** A compiler over loaded NVRTC bindings (asks for the version once). */
    public NvrtcPtxCompiler(Nvrtc nvrtc) {
        this.nvrtc = nvrtc;
        int[] v = nvrtc.version();
        this.version = "nvrtc-" + v[0] + "." + v[1];
    }

    /** The options every source is compiled with. */
    public static List<String> options(String arch) {
        return List.of("--gpu-architecture=" + arch, "--std=c++17");
    }

    @Override
    public byte[] compile(KernelSource source, String arch) {
        return nvrtc.compile(source.text(), source.name(), options(arch));
    }

    @Override
    public String version() {
        return version;
    }
}
