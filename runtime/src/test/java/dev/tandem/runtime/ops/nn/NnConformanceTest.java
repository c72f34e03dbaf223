package dev.tandem.runtime.ops.nn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.onnx.Conformance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The ONNX backend cases of this package's ops: every case must pass or be reported unsupported (never a wrong
 * answer), and the cases listed in {@link #MUST_PASS} must pass. Skipped when the test data is not installed.
 */
class NnConformanceTest {
    private static final Path DATA = Path.of("/usr/share/libonnx-testdata/data");
    private static final String NODE_CASES = "test_(conv|convtranspose|basic_conv|gemm|matmul|maxpool|averagepool|"
            + "globalaveragepool|globalmaxpool|batchnorm|instancenorm|layer_normalization|softmax|logsoftmax|resize|"
            + "upsample|constant_pad|edge_pad|reflect_pad|nllloss|sce).*";
    private static final String PYTORCH_CASES = "test_(AvgPool|BatchNorm|ConstantPad|Conv|ConvTranspose|Linear|"
            + "LogSoftmax|MaxPool|ReflectionPad|ReplicationPad|Softmax|ZeroPad|log_softmax|softmax|operator_addmm|"
            + "operator_conv|operator_convtranspose|operator_maxpool|operator_mm|operator_pad|operator_params).*";

    static final Set<String> MUST_PASS = Set.of("""
            test_AvgPool2d test_AvgPool2d_stride test_BatchNorm1d_3d_input_eval test_BatchNorm2d_eval 
            test_BatchNorm2d_momentum_eval test_BatchNorm3d_eval test_BatchNorm3d_momentum_eval test_ConstantPad2d 
            test_Conv1d test_Conv1d_dilated test_Conv1d_groups test_Conv1d_pad1 test_Conv1d_pad1size1 test_Conv1d_pad2 
            test_Conv1d_pad2size1 test_Conv1d_stride test_Conv2d test_Conv2d_depthwise test_Conv2d_depthwise_padded 
            test_Conv2d_depthwise_strided test_Conv2d_depthwise_with_multiplier test_Conv2d_dilated test_Conv2d_groups 
            test_Conv2d_groups_thnn test_Conv2d_no_bias test_Conv2d_padding test_Conv2d_strided test_ConvTranspose2d 
            test_ConvTranspose2d_no_bias test_Linear test_LogSoftmax test_MaxPool1d test_MaxPool1d_stride 
            test_MaxPool1d_stride_padding_dilation test_MaxPool2d test_MaxPool2d_stride_padding_dilation test_ReLU 
            test_ReflectionPad2d test_ReplicationPad2d test_Softmax test_ZeroPad2d test_averagepool_1d_default 
            test_averagepool_2d_ceil test_averagepool_2d_default test_averagepool_2d_pads 
            test_averagepool_2d_pads_count_include_pad test_averagepool_2d_precomputed_pads 
            test_averagepool_2d_precomputed_pads_count_include_pad test_averagepool_2d_precomputed_same_upper 
            test_averagepool_2d_precomputed_strides test_averagepool_2d_same_lower test_averagepool_2d_same_upper 
            test_averagepool_2d_strides test_basic_conv_with_padding test_basic_conv_without_padding 
            test_batchnorm_epsilon test_batchnorm_example test_constant_pad test_conv_with_autopad_same 
            test_conv_with_strides_and_asymmetric_padding test_conv_with_strides_no_padding 
            test_conv_with_strides_padding test_convtranspose test_convtranspose_1d test_convtranspose_autopad_same 
            test_convtranspose_dilations test_convtranspose_kernel_shape test_convtranspose_output_shape 
            test_convtranspose_pad test_convtranspose_pads test_convtranspose_with_kernel test_edge_pad 
            test_gemm_all_attributes test_gemm_alpha test_gemm_beta test_gemm_default_matrix_bias 
            test_gemm_default_no_bias test_gemm_default_scalar_bias test_gemm_default_single_elem_vector_bias 
            test_gemm_default_vector_bias test_gemm_default_zero_bias test_gemm_transposeA test_gemm_transposeB 
            test_globalaveragepool test_globalaveragepool_precomputed test_globalmaxpool test_globalmaxpool_precomputed 
            test_instancenorm_epsilon test_instancenorm_example test_layer_normalization_2d_axis0 
            test_layer_normalization_2d_axis1 test_layer_normalization_2d_axis_negative_1 
            test_layer_normalization_2d_axis_negative_2 test_layer_normalization_3d_axis0_epsilon 
            test_layer_normalization_3d_axis1_epsilon test_layer_normalization_3d_axis2_epsilon 
            test_layer_normalization_3d_axis_negative_1_epsilon test_layer_normalization_3d_axis_negative_2_epsilon 
            test_layer_normalization_3d_axis_negative_3_epsilon test_layer_normalization_4d_axis0 
            test_layer_normalization_4d_axis1 test_layer_normalization_4d_axis2 test_layer_normalization_4d_axis3 
            test_layer_normalization_4d_axis_negative_1 test_layer_normalization_4d_axis_negative_2 
            test_layer_normalization_4d_axis_negative_3 test_layer_normalization_4d_axis_negative_4 
            test_layer_normalization_default_axis test_log_softmax_dim3 test_log_softmax_lastdim test_logsoftmax_axis_0 
            test_logsoftmax_axis_1 test_logsoftmax_axis_2 test_logsoftmax_default_axis test_logsoftmax_example_1 
            test_logsoftmax_large_number test_logsoftmax_negative_axis test_matmul_2d test_matmul_3d test_matmul_4d 
            test_maxpool_1d_default test_maxpool_2d_ceil test_maxpool_2d_default test_maxpool_2d_dilations 
            test_maxpool_2d_pads test_maxpool_2d_precomputed_pads test_maxpool_2d_precomputed_same_upper 
            test_maxpool_2d_precomputed_strides test_maxpool_2d_same_lower test_maxpool_2d_same_upper 
            test_maxpool_2d_strides test_operator_addmm test_operator_conv test_operator_convtranspose 
            test_operator_maxpool test_operator_pad test_operator_symbolic_override test_reflect_pad 
            test_resize_downsample_sizes_linear_pytorch_half_pixel test_resize_downsample_sizes_nearest 
            test_resize_upsample_sizes_nearest test_resize_upsample_sizes_nearest_ceil_half_pixel 
            test_resize_upsample_sizes_nearest_floor_align_corners 
            test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric test_softmax_axis_0 test_softmax_axis_1 
            test_softmax_axis_2 test_softmax_default_axis test_softmax_example test_softmax_functional_dim3 
            test_softmax_large_number test_softmax_lastdim test_softmax_negative_axis
            test_nllloss_NC test_nllloss_NC_expanded test_nllloss_NCd1 test_nllloss_NCd1_expanded test_nllloss_NCd1_ii
            test_nllloss_NCd1_ii_expanded test_nllloss_NCd1_mean_weight_negative_ii
            test_nllloss_NCd1_mean_weight_negative_ii_expanded test_nllloss_NCd1_weight
            test_nllloss_NCd1_weight_expanded test_nllloss_NCd1_weight_ii test_nllloss_NCd1_weight_ii_expanded
            test_nllloss_NCd1d2 test_nllloss_NCd1d2_expanded test_nllloss_NCd1d2_no_weight_reduction_mean_ii
            test_nllloss_NCd1d2_no_weight_reduction_mean_ii_expanded test_nllloss_NCd1d2_reduction_mean
            test_nllloss_NCd1d2_reduction_mean_expanded test_nllloss_NCd1d2_reduction_sum
            test_nllloss_NCd1d2_reduction_sum_expanded test_nllloss_NCd1d2_with_weight
            test_nllloss_NCd1d2_with_weight_expanded test_nllloss_NCd1d2_with_weight_reduction_mean
            test_nllloss_NCd1d2_with_weight_reduction_mean_expanded test_nllloss_NCd1d2_with_weight_reduction_sum
            test_nllloss_NCd1d2_with_weight_reduction_sum_expanded test_nllloss_NCd1d2_with_weight_reduction_sum_ii
            test_nllloss_NCd1d2_with_weight_reduction_sum_ii_expanded test_nllloss_NCd1d2d3_none_no_weight_negative_ii
            test_nllloss_NCd1d2d3_none_no_weight_negative_ii_expanded test_nllloss_NCd1d2d3_sum_weight_high_ii
            test_nllloss_NCd1d2d3_sum_weight_high_ii_expanded test_nllloss_NCd1d2d3d4d5_mean_weight
            test_nllloss_NCd1d2d3d4d5_mean_weight_expanded test_nllloss_NCd1d2d3d4d5_none_no_weight
            test_nllloss_NCd1d2d3d4d5_none_no_weight_expanded test_sce_NCd1_mean_weight_negative_ii
            test_sce_NCd1_mean_weight_negative_ii_expanded test_sce_NCd1_mean_weight_negative_ii_log_prob
            test_sce_NCd1_mean_weight_negative_ii_log_prob_expanded test_sce_NCd1d2d3_none_no_weight_negative_ii
            test_sce_NCd1d2d3_none_no_weight_negative_ii_expanded test_sce_NCd1d2d3_none_no_weight_negative_ii_log_prob
            test_sce_NCd1d2d3_none_no_weight_negative_ii_log_prob_expanded test_sce_NCd1d2d3_sum_weight_high_ii
            test_sce_NCd1d2d3_sum_weight_high_ii_expanded test_sce_NCd1d2d3_sum_weight_high_ii_log_prob
            test_sce_NCd1d2d3_sum_weight_high_ii_log_prob_expanded test_sce_NCd1d2d3d4d5_mean_weight
            test_sce_NCd1d2d3d4d5_mean_weight_expanded test_sce_NCd1d2d3d4d5_mean_weight_log_prob
            test_sce_NCd1d2d3d4d5_mean_weight_log_prob_expanded test_sce_NCd1d2d3d4d5_none_no_weight
            test_sce_NCd1d2d3d4d5_none_no_weight_expanded test_sce_NCd1d2d3d4d5_none_no_weight_log_prob
            test_sce_NCd1d2d3d4d5_none_no_weight_log_prob_expanded test_sce_mean test_sce_mean_3d
            test_sce_mean_3d_expanded test_sce_mean_3d_log_prob test_sce_mean_3d_log_prob_expanded
            test_sce_mean_expanded test_sce_mean_log_prob test_sce_mean_log_prob_expanded test_sce_mean_no_weight_ii
            test_sce_mean_no_weight_ii_3d test_sce_mean_no_weight_ii_3d_expanded test_sce_mean_no_weight_ii_3d_log_prob
            test_sce_mean_no_weight_ii_3d_log_prob_expanded test_sce_mean_no_weight_ii_4d
            test_sce_mean_no_weight_ii_4d_expanded test_sce_mean_no_weight_ii_4d_log_prob
            test_sce_mean_no_weight_ii_4d_log_prob_expanded test_sce_mean_no_weight_ii_expanded
            test_sce_mean_no_weight_ii_log_prob test_sce_mean_no_weight_ii_log_prob_expanded test_sce_mean_weight
            test_sce_mean_weight_expanded test_sce_mean_weight_ii test_sce_mean_weight_ii_3d
            test_sce_mean_weight_ii_3d_expanded test_sce_mean_weight_ii_3d_log_prob
            test_sce_mean_weight_ii_3d_log_prob_expanded test_sce_mean_weight_ii_4d test_sce_mean_weight_ii_4d_expanded
            test_sce_mean_weight_ii_4d_log_prob test_sce_mean_weight_ii_4d_log_prob_expanded
            test_sce_mean_weight_ii_expanded test_sce_mean_weight_ii_log_prob test_sce_mean_weight_ii_log_prob_expanded
            test_sce_mean_weight_log_prob test_sce_mean_weight_log_prob_expanded test_sce_none test_sce_none_expanded
            test_sce_none_log_prob test_sce_none_log_prob_expanded test_sce_none_weights test_sce_none_weights_expanded
            test_sce_none_weights_log_prob test_sce_none_weights_log_prob_expanded test_sce_sum test_sce_sum_expanded
            test_sce_sum_log_prob test_sce_sum_log_prob_expanded
            """.trim().split("\\s+"));

    private static ThreadPool pool;

    @BeforeAll
    static void open() {
        pool = new ThreadPool(2);
    }

    @AfterAll
    static void close() {
        pool.close();
    }

    static Stream<Path> cases() throws IOException {
        List<Path> out = new ArrayList<>();
        add(out, DATA.resolve("node"), NODE_CASES);
        add(out, DATA.resolve("pytorch-converted"), PYTORCH_CASES);
        add(out, DATA.resolve("pytorch-operator"), PYTORCH_CASES);
        if (out.isEmpty()) {
            out.add(DATA.resolve("absent"));
        }
        return out.stream();
    }

    private static void add(List<Path> out, Path dir, String regex) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        for (Path p : Conformance.cases(dir)) {
            if (p.getFileName().toString().matches(regex)) {
                out.add(p);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void passesOrIsUnsupported(Path caseDir) {
        Assumptions.assumeTrue(Files.isDirectory(caseDir), "ONNX test data not installed");
        Conformance.Result r = Conformance.run(caseDir, pool);
        String name = caseDir.getFileName().toString();
        assertThat(r.status()).as(r.toString()).isNotEqualTo(Conformance.Status.FAIL);
        if (MUST_PASS.contains(name)) {
            assertThat(r.status()).as(r.toString()).isEqualTo(Conformance.Status.PASS);
        }
    }
}
