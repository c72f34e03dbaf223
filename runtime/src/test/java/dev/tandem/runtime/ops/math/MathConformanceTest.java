package dev.tandem.runtime.ops.math;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.exec.ThreadPool;
import dev.tandem.runtime.onnx.Conformance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The ONNX backend test cases of the math ops (Debian's libonnx-testdata): every case must pass or be reported
 * unsupported (never a wrong answer), and the cases in {@link #MUST_PASS} must pass. Skipped when the test data is
 * not installed.
 */
class MathConformanceTest {
    static final Path DATA = Path.of("/usr/share/libonnx-testdata/data");

    /** The node/ cases of this package's ops. */
    static final Pattern NODE_CASES = Pattern.compile("test_(add|sub|mul|div|pow|min|max|sum|mean|equal|greater"
            + "|less|where|sqrt|exp|log|neg|abs|relu|leakyrelu|prelu|elu|selu|sigmoid|hardsigmoid|hardswish|tanh"
            + "|clip|erf|cast|castlike|reduce_mean|reduce_max|reduce_min|reduce_sum|argmax|argmin|not|and|or|xor"
            + "|floor|ceil|round|sign|reciprocal|softplus)([_0-9].*)?");

    /** Cases that pass today: node/ names, and folder/name for the other suites. */
    static final Set<String> MUST_PASS = Arrays.stream("""
            test_abs test_add test_add_bcast test_add_uint8 test_and2d test_and3d test_and4d test_and_bcast3v1d
            test_and_bcast3v2d test_and_bcast4v2d test_and_bcast4v3d test_and_bcast4v4d
            test_argmax_default_axis_example test_argmax_default_axis_example_select_last_index
            test_argmax_default_axis_random test_argmax_default_axis_random_select_last_index
            test_argmax_keepdims_example test_argmax_keepdims_example_select_last_index test_argmax_keepdims_random
            test_argmax_keepdims_random_select_last_index test_argmax_negative_axis_keepdims_example
            test_argmax_negative_axis_keepdims_example_select_last_index test_argmax_negative_axis_keepdims_random
            test_argmax_negative_axis_keepdims_random_select_last_index test_argmax_no_keepdims_example
            test_argmax_no_keepdims_example_select_last_index test_argmax_no_keepdims_random
            test_argmax_no_keepdims_random_select_last_index test_argmin_default_axis_example
            test_argmin_default_axis_example_select_last_index test_argmin_default_axis_random
            test_argmin_default_axis_random_select_last_index test_argmin_keepdims_example
            test_argmin_keepdims_example_select_last_index test_argmin_keepdims_random
            test_argmin_keepdims_random_select_last_index test_argmin_negative_axis_keepdims_example
            test_argmin_negative_axis_keepdims_example_select_last_index test_argmin_negative_axis_keepdims_random
            test_argmin_negative_axis_keepdims_random_select_last_index test_argmin_no_keepdims_example
            test_argmin_no_keepdims_example_select_last_index test_argmin_no_keepdims_random
            test_argmin_no_keepdims_random_select_last_index test_cast_DOUBLE_to_FLOAT test_cast_FLOAT_to_DOUBLE
            test_castlike_DOUBLE_to_FLOAT test_castlike_DOUBLE_to_FLOAT_expanded test_castlike_FLOAT_to_DOUBLE
            test_castlike_FLOAT_to_DOUBLE_expanded test_ceil test_ceil_example test_clip test_clip_default_inbounds
            test_clip_default_int8_inbounds test_clip_default_int8_max test_clip_default_int8_min test_clip_default_max
            test_clip_default_min test_clip_example test_clip_inbounds test_clip_outbounds test_clip_splitbounds
            test_div test_div_bcast test_div_example test_div_uint8 test_elu test_elu_default test_elu_example
            test_equal test_equal_bcast test_erf test_exp test_exp_example test_floor test_floor_example test_greater
            test_greater_bcast test_greater_equal test_greater_equal_bcast test_greater_equal_bcast_expanded
            test_greater_equal_expanded test_hardsigmoid test_hardsigmoid_default test_hardsigmoid_example
            test_hardswish test_hardswish_expanded test_leakyrelu test_leakyrelu_default test_leakyrelu_example
            test_less test_less_bcast test_less_equal test_less_equal_bcast test_less_equal_bcast_expanded
            test_less_equal_expanded test_log test_log_example test_max_example test_max_float32 test_max_float64
            test_max_int32 test_max_int64 test_max_int8 test_max_one_input test_max_two_inputs test_max_uint8
            test_mean_example test_mean_one_input test_mean_two_inputs test_min_example test_min_float32
            test_min_float64 test_min_int32 test_min_int64 test_min_int8 test_min_one_input test_min_two_inputs
            test_min_uint8 test_mul test_mul_bcast test_mul_example test_mul_uint8 test_neg test_neg_example
            test_not_2d test_not_3d test_not_4d test_or2d test_or3d test_or4d test_or_bcast3v1d test_or_bcast3v2d
            test_or_bcast4v2d test_or_bcast4v3d test_or_bcast4v4d test_pow test_pow_bcast_array test_pow_bcast_scalar
            test_pow_example test_pow_types_float test_pow_types_float32_int32 test_pow_types_float32_int64
            test_pow_types_int test_pow_types_int32_float32 test_pow_types_int32_int32 test_pow_types_int64_float32
            test_pow_types_int64_int64 test_prelu_broadcast test_prelu_example test_reciprocal test_reciprocal_example
            test_reduce_max_default_axes_keepdim_example test_reduce_max_default_axes_keepdims_random
            test_reduce_max_do_not_keepdims_example test_reduce_max_do_not_keepdims_random
            test_reduce_max_keepdims_example test_reduce_max_keepdims_random
            test_reduce_max_negative_axes_keepdims_example test_reduce_max_negative_axes_keepdims_random
            test_reduce_mean_default_axes_keepdims_example test_reduce_mean_default_axes_keepdims_random
            test_reduce_mean_do_not_keepdims_example test_reduce_mean_do_not_keepdims_random
            test_reduce_mean_keepdims_example test_reduce_mean_keepdims_random
            test_reduce_mean_negative_axes_keepdims_example test_reduce_mean_negative_axes_keepdims_random
            test_reduce_min_default_axes_keepdims_example test_reduce_min_default_axes_keepdims_random
            test_reduce_min_do_not_keepdims_example test_reduce_min_do_not_keepdims_random
            test_reduce_min_keepdims_example test_reduce_min_keepdims_random
            test_reduce_min_negative_axes_keepdims_example test_reduce_min_negative_axes_keepdims_random
            test_reduce_sum_default_axes_keepdims_example test_reduce_sum_default_axes_keepdims_random
            test_reduce_sum_do_not_keepdims_example test_reduce_sum_do_not_keepdims_random
            test_reduce_sum_empty_axes_input_noop_example test_reduce_sum_empty_axes_input_noop_random
            test_reduce_sum_keepdims_example test_reduce_sum_keepdims_random
            test_reduce_sum_negative_axes_keepdims_example test_reduce_sum_negative_axes_keepdims_random test_relu
            test_round test_selu test_selu_default test_selu_example test_sigmoid test_sigmoid_example test_sign
            test_softplus test_softplus_example pytorch-converted/test_Softplus
            test_sqrt test_sqrt_example test_sub test_sub_bcast test_sub_example test_sub_uint8 test_sum_example
            test_sum_one_input test_sum_two_inputs test_tanh test_tanh_example test_where_example
            test_where_long_example test_xor2d test_xor3d test_xor4d test_xor_bcast3v1d test_xor_bcast3v2d
            test_xor_bcast4v2d test_xor_bcast4v3d test_xor_bcast4v4d pytorch-operator/test_operator_add_broadcast
            pytorch-operator/test_operator_add_size1_broadcast pytorch-operator/test_operator_add_size1_right_broadcast
            pytorch-operator/test_operator_add_size1_singleton_broadcast pytorch-operator/test_operator_basic
            pytorch-operator/test_operator_clip pytorch-operator/test_operator_exp pytorch-operator/test_operator_max
            pytorch-operator/test_operator_min pytorch-operator/test_operator_non_float_params
            pytorch-operator/test_operator_params pytorch-operator/test_operator_pow
            pytorch-operator/test_operator_reduced_mean pytorch-operator/test_operator_reduced_mean_keepdim
            pytorch-operator/test_operator_reduced_sum pytorch-operator/test_operator_reduced_sum_keepdim
            pytorch-operator/test_operator_selu pytorch-operator/test_operator_sqrt
            pytorch-operator/test_operator_symbolic_override_nested pytorch-converted/test_ELU
            pytorch-converted/test_LeakyReLU pytorch-converted/test_LeakyReLU_with_negval
            pytorch-converted/test_PReLU_1d pytorch-converted/test_PReLU_1d_multiparam pytorch-converted/test_PReLU_2d
            pytorch-converted/test_PReLU_2d_multiparam pytorch-converted/test_PReLU_3d
            pytorch-converted/test_PReLU_3d_multiparam pytorch-converted/test_ReLU pytorch-converted/test_SELU
            pytorch-converted/test_Sigmoid pytorch-converted/test_Tanh simple/test_sign_model
            simple/test_single_relu_model
            """.split("\\s+")).filter(s -> !s.isEmpty()).collect(Collectors.toCollection(TreeSet::new));

    static ThreadPool pool;

    @BeforeAll
    static void openPool() {
        pool = new ThreadPool(2);
    }

    @AfterAll
    static void closePool() {
        pool.close();
    }

    static List<Path> cases() throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(DATA.resolve("node"))) {
            return List.of(DATA); // one invocation, skipped by its assumption
        }
        for (Path p : Conformance.cases(DATA.resolve("node"))) {
            String n = p.getFileName().toString();
            if (NODE_CASES.matcher(n).matches() && !n.startsWith("test_reduce_sum_square")) {
                out.add(p);
            }
        }
        for (String m : MUST_PASS) {
            if (m.contains("/")) {
                out.add(DATA.resolve(m));
            }
        }
        return out;
    }

    private static String key(Path caseDir) {
        String suite = caseDir.getParent().getFileName().toString();
        String n = caseDir.getFileName().toString();
        return suite.equals("node") ? n : suite + "/" + n;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void passesOrIsUnsupported(Path caseDir) {
        Assumptions.assumeTrue(Files.isDirectory(DATA.resolve("node")), "libonnx-testdata not installed");
        Conformance.Result r = Conformance.run(caseDir, pool);
        assertThat(r.status()).as(r.toString()).isNotEqualTo(Conformance.Status.FAIL);
        if (MUST_PASS.contains(key(caseDir))) {
            assertThat(r.status()).as(r.toString()).isEqualTo(Conformance.Status.PASS);
        }
    }

    @Test
    void everyMustPassCaseExists() throws IOException {
        Assumptions.assumeTrue(Files.isDirectory(DATA.resolve("node")), "libonnx-testdata not installed");
        Set<String> found = cases().stream().map(MathConformanceTest::key).collect(Collectors.toSet());
        assertThat(found).containsAll(MUST_PASS);
    }
}
