package dev.tandem.cuda.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.cuda.driver.KernelArgs.Kind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class KernelSourcesTest {
    @Test
    void everySourceFileIsListedAndEveryKernelHasAUniqueName() throws Exception {
        // The source folder itself: on the class path, test classes of this package shadow the resource folder.
        Path folder = Path.of("src/main/resources/dev/tandem/cuda/kernels");
        try (Stream<Path> files = Files.list(folder)) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu")))
                    .containsExactlyInAnyOrderElementsOf(KernelSources.FILES);
        }
        KernelSources s = KernelSources.load();
        assertThat(s.all()).hasSize(KernelSources.FILES.size()).allSatisfy(src -> {
            assertThat(src.kernels()).isNotEmpty();
            assertThat(src.text()).startsWith("// Shared by every Tandem kernel source");
        });
        assertThat(s.all().stream().flatMap(src -> src.kernels().stream()).map(KernelSignature::name))
                .contains("tandem_add", "tandem_relu_grad", "tandem_bias_act_nchw", "tandem_maxpool_fwd",
                        "tandem_maxpool_bwd", "tandem_global_avgpool_fwd", "tandem_bn_stats_partial", "tandem_bn_bwd_apply",
                        "tandem_softmax_xent", "tandem_sgd_step", "tandem_adam_step", "tandem_f32_to_bf16",
                        "tandem_bf16_to_f32", "tandem_sum_partial", "tandem_sum_final");
        assertThat(s.sourceOf("tandem_bn_bwd_apply").orElseThrow().name()).isEqualTo("batchnorm.cu");
    }

    @Test
    void signaturesGiveTheKindOfEveryParameter() {
        KernelSources s = KernelSources.load();
        assertThat(s.signature("tandem_axpy").params()).containsExactly(Kind.FLOAT, Kind.POINTER, Kind.POINTER,
                Kind.LONG);
        assertThat(s.signature("tandem_softmax_xent").params()).containsExactly(Kind.POINTER, Kind.POINTER,
                Kind.POINTER, Kind.POINTER, Kind.POINTER, Kind.INT, Kind.INT, Kind.FLOAT, Kind.FLOAT);
        assertThat(s.signature("tandem_f32_to_bf16").declarations()).containsExactly("const float* x",
                "unsigned short* y", "long long n");
        assertThatThrownBy(() -> s.signature("tandem_add").check(List.of(Kind.POINTER, Kind.POINTER, Kind.POINTER,
                Kind.INT))).isInstanceOf(IllegalArgumentException.class).hasMessage("kernel tandem_add(const float* a, "
                + "const float* b, float* y, long long n) takes [POINTER, POINTER, POINTER, LONG] but was given "
                + "[POINTER, POINTER, POINTER, INT]");
        assertThatThrownBy(() -> s.signature("nope")).hasMessageStartingWith("no kernel 'nope' in [elementwise.cu");
    }

    @Test
    void parsingIgnoresCommentsAndRefusesTypesItCannotPass() {
        String src = "// extern \"C\" __global__ void commented(int a)\n"
                + "extern \"C\" __global__ void k(const float* __restrict__ x,\n    unsigned int n, size_t m) {}\n"
                + "/* extern \"C\" __global__ void also_commented() */";
        assertThat(KernelSignature.parseAll(src)).singleElement().satisfies(k -> {
            assertThat(k.name()).isEqualTo("k");
            assertThat(k.params()).containsExactly(Kind.POINTER, Kind.INT, Kind.LONG);
        });
        assertThatThrownBy(() -> KernelSignature.parseAll("extern \"C\" __global__ void k(double d) {}"))
                .hasMessageContaining("parameter 'double d' has a type Tandem cannot pass");
    }
}
