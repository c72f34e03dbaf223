package dev.tandem.cuda.discovery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.backend.BackendEnvironment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Discovery over a fake machine: a temporary root with library files placed where a test wants them. */
class LibrarySearchTest {
    @TempDir
    Path root;

    private Path touch(String relative) throws IOException {
        Path f = root.resolve(relative);
        Files.createDirectories(f.getParent());
        Files.writeString(f, "not really ELF");
        return f;
    }

    private LibrarySearch search(BackendEnvironment env) {
        return new LibrarySearch(env, root);
    }

    @Test
    void findsNothingOnAnEmptyMachineAndSaysWhatToDo() {
        SearchResult r = search(BackendEnvironment.empty()).find(CudaLibrary.CUBLAS);
        assertThat(r.found()).isFalse();
        assertThat(r.missingMessage())
                .startsWith("cuBLAS not found: no libcublas.so.13 or libcublas.so.12 in any folder")
                .contains("install cuBLAS", "-Dtandem.cuda.libcublas=PATH", "TANDEM_LIBCUBLAS=PATH");
        assertThat(r.describe()).isEqualTo(r.missingMessage());
    }

    @Test
    void missingMessageListsTheFoldersExamined() throws IOException {
        Files.createDirectories(root.resolve("usr/local/cuda/lib64"));
        Files.createDirectories(root.resolve("ld1"));
        SearchResult r = search(BackendEnvironment.empty().withEnv("LD_LIBRARY_PATH", root.resolve("ld1") + "::"
                + root.resolve("absent"))).find(CudaLibrary.DRIVER);
        assertThat(r.looked()).extracting(SearchPlace::folder)
                .containsExactly(root.resolve("ld1"), root.resolve("usr/local/cuda/lib64"));
        assertThat(r.missingMessage()).contains(root.resolve("ld1") + " (LD_LIBRARY_PATH)",
                root.resolve("usr/local/cuda/lib64") + " (standard)", "install the NVIDIA driver");
    }

    @Test
    void searchOrderIsExplicitThenCudaHomeThenLdLibraryPathThenStandardThenPip() throws IOException {
        Path pip = touch("opt/torch/.venv/lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13");
        Path standard = touch("usr/local/cuda/targets/x86_64-linux/lib/libcublas.so.13");
        Path ld = touch("ld/libcublas.so.13");
        Path home = touch("cuda-home/lib64/libcublas.so.13");
        Path explicit = touch("mine/libcublas.so.13");
        BackendEnvironment env = BackendEnvironment.empty().withEnv("CUDA_HOME", root.resolve("cuda-home").toString())
                .withEnv("LD_LIBRARY_PATH", root.resolve("ld").toString());

        assertThat(search(env.withProperty("tandem.cuda.libcublas", explicit.toString())).find(CudaLibrary.CUBLAS))
                .satisfies(r -> {
                    assertThat(r.file()).contains(explicit);
                    assertThat(r.origin()).isEqualTo("-Dtandem.cuda.libcublas");
                });
        assertThat(search(env.withEnv("TANDEM_LIBCUBLAS", root.resolve("mine").toString())).find(CudaLibrary.CUBLAS)
                .file()).contains(explicit);
        SearchResult viaHome = search(env).find(CudaLibrary.CUBLAS);
        assertThat(viaHome.file()).contains(home);
        assertThat(viaHome.origin()).isEqualTo("CUDA_HOME");
        assertThat(viaHome.describe()).startsWith("cuBLAS: " + home).endsWith("(CUDA_HOME)");

        Files.delete(home);
        assertThat(search(env).find(CudaLibrary.CUBLAS).file()).contains(ld);
        Files.delete(ld);
        assertThat(search(env).find(CudaLibrary.CUBLAS).file()).contains(standard);
        Files.delete(standard);
        SearchResult viaPip = search(env).find(CudaLibrary.CUBLAS);
        assertThat(viaPip.file()).contains(pip);
        assertThat(viaPip.origin()).isEqualTo("pip wheel");
    }

    @Test
    void anExplicitSettingThatNamesNothingIsTheProblemAndNothingElseIsSearched() throws IOException {
        touch("usr/lib/x86_64-linux-gnu/libcuda.so.1");
        SearchResult r = search(BackendEnvironment.empty().withProperty("tandem.cuda.libcuda", "/nowhere/libcuda.so.1"))
                .find(CudaLibrary.DRIVER);
        assertThat(r.found()).isFalse();
        assertThat(r.missingMessage()).isEqualTo("CUDA driver not found: -Dtandem.cuda.libcuda=/nowhere/libcuda.so.1: "
                + "no such file or folder; name the file with -Dtandem.cuda.libcuda=PATH or TANDEM_LIBCUDA=PATH");

        Files.createDirectories(root.resolve("empty"));
        SearchResult folder = search(BackendEnvironment.empty().withEnv("TANDEM_LIBCUDNN", root.resolve("empty")
                .toString())).find(CudaLibrary.CUDNN);
        assertThat(folder.missingMessage()).contains("TANDEM_LIBCUDNN=" + root.resolve("empty")
                + " is a folder without libcudnn.so.9");
        // The property wins over the environment variable.
        Path good = touch("good/libcuda.so.1");
        assertThat(search(BackendEnvironment.empty().withEnv("TANDEM_LIBCUDA", "/nowhere")
                .withProperty("tandem.cuda.libcuda", good.toString())).find(CudaLibrary.DRIVER).file()).contains(good);
    }

    @Test
    void prefersTheNewestFileNameInAFolderAndFallsBackToOlderOnes() throws IOException {
        Path twelve = touch("usr/lib/x86_64-linux-gnu/libnvrtc.so.12");
        assertThat(search(BackendEnvironment.empty()).find(CudaLibrary.NVRTC).file()).contains(twelve);
        Path thirteen = touch("usr/lib/x86_64-linux-gnu/libnvrtc.so.13");
        assertThat(search(BackendEnvironment.empty()).find(CudaLibrary.NVRTC).file()).contains(thirteen);
    }

    @Test
    void readsTheLinkerConfigurationAndVersionedToolkits() throws IOException {
        Path conf = root.resolve("etc/ld.so.conf.d/988_cuda-13.conf");
        Files.createDirectories(conf.getParent());
        Files.writeString(conf, "# cuda\n/usr/local/cuda-13.0/targets/x86_64-linux/lib # toolkit\n/not/there\n");
        Files.writeString(root.resolve("etc/ld.so.conf"), "include /etc/ld.so.conf.d/*.conf\n");
        Path lib = touch("usr/local/cuda-13.0/targets/x86_64-linux/lib/libnvrtc.so.13");
        SearchResult r = search(BackendEnvironment.empty()).find(CudaLibrary.NVRTC);
        assertThat(r.file()).contains(lib);
        assertThat(r.origin()).isEqualTo("ld.so.conf");

        Files.delete(conf);
        touch("usr/local/cuda-12.8/lib64/libnvrtc.so.12");
        touch("usr/local/cuda-9.2/lib64/libnvrtc.so.12");
        SearchResult t = search(BackendEnvironment.empty()).find(CudaLibrary.NVRTC);
        assertThat(t.file()).contains(lib);
        assertThat(t.origin()).isEqualTo("toolkit");
        assertThat(LibrarySearch.newestFirst(LibrarySearch.glob(root.resolve("usr/local"), "cuda-*")))
                .extracting(p -> p.getFileName().toString()).containsExactly("cuda-13.0", "cuda-12.8", "cuda-9.2");
    }

    @Test
    void findsPipWheelsInVenvsSystemPythonsAndUnderOptWithinTheDepthBound() throws IOException {
        Path venvCudnn = touch("venv/lib/python3.11/site-packages/nvidia/cudnn/lib/libcudnn.so.9");
        BackendEnvironment env = BackendEnvironment.empty().withEnv("VIRTUAL_ENV", root.resolve("venv").toString());
        assertThat(search(env).find(CudaLibrary.CUDNN).file()).contains(venvCudnn);

        Path sys = touch("usr/local/lib/python3.12/dist-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12");
        assertThat(search(BackendEnvironment.empty()).find(CudaLibrary.NVRTC).file()).contains(sys);

        Path home = touch("home/u/.local/lib/python3.12/site-packages/nvidia/cublas/lib/libcublasLt.so.12");
        assertThat(search(BackendEnvironment.empty().withEnv("HOME", root.resolve("home/u").toString()))
                .find(CudaLibrary.CUBLAS_LT).file()).contains(home);

        // /opt/a/b/c/d/e/f/site-packages is deeper than the bound: not searched.
        touch("opt/a/b/c/d/e/f/site-packages/nvidia/cu13/lib/libcublas.so.13");
        assertThat(search(BackendEnvironment.empty()).find(CudaLibrary.CUBLAS).found()).isFalse();
        Path shallow = touch("opt/conda/lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13");
        assertThat(search(BackendEnvironment.empty()).find(CudaLibrary.CUBLAS).file()).contains(shallow);
    }

    @Test
    void cu13WheelFolderComesBeforeThePerLibraryOnes() throws IOException {
        touch("usr/lib/python3/dist-packages/nvidia/cublas/lib/libcublas.so.12");
        Path cu13 = touch("usr/lib/python3/dist-packages/nvidia/cu13/lib/libcublas.so.13");
        assertThat(search(BackendEnvironment.empty()).find(CudaLibrary.CUBLAS).file()).contains(cu13);
    }

    @Test
    void eachFolderIsSearchedOnceAndFindAllKeepsLibraryOrder() throws IOException {
        touch("usr/lib/libcuda.so.1");
        BackendEnvironment env = BackendEnvironment.empty().withEnv("LD_LIBRARY_PATH", root.resolve("usr/lib") + ":"
                + root.resolve("usr/lib/"));
        LibrarySearch s = search(env);
        assertThat(s.places()).extracting(SearchPlace::folder).containsOnlyOnce(root.resolve("usr/lib"));
        assertThat(s.findAll(Set.of(CudaLibrary.CUDNN, CudaLibrary.DRIVER)).keySet())
                .containsExactly(CudaLibrary.DRIVER, CudaLibrary.CUDNN);
        assertThat(s.find(CudaLibrary.DRIVER).origin()).isEqualTo("LD_LIBRARY_PATH");
    }
}
