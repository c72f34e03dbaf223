package dev.tandem.serve.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.serve.ServeException;
import dev.tandem.serve.batch.TensorData;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class OipJsonTest {
    private static OipJson.InferRequest parse(String json) {
        return OipJson.parseInfer(json.getBytes(StandardCharsets.UTF_8));
    }

    private static void assertBad(String json, String message) {
        assertThatThrownBy(() -> parse(json)).isInstanceOf(ServeException.class).hasMessageContaining(message)
                .satisfies(e -> assertThat(((ServeException) e).status()).isEqualTo(400));
    }

    @Test
    void parsesEveryDatatypeFlatOrNested() {
        OipJson.InferRequest r = parse("""
                {"id": "a", "inputs": [
                  {"name": "f", "datatype": "FP32", "shape": [2, 2], "data": [[1, 2.5], [-3, 4e2]]},
                  {"name": "d", "datatype": "FP64", "shape": [1], "data": [0.1]},
                  {"name": "l", "datatype": "INT64", "shape": [3], "data": [9007199254740993, -1, 0]},
                  {"name": "i", "datatype": "INT32", "shape": [1], "data": [2147483647]},
                  {"name": "u", "datatype": "UINT8", "shape": [2], "data": [0, 255]},
                  {"name": "b", "datatype": "BOOL", "shape": [2], "data": [true, false]},
                  {"name": "s", "datatype": "fp32", "shape": [], "data": 7}
                ], "outputs": [{"name": "y"}]}""");
        assertThat(r.id()).isEqualTo("a");
        assertThat(r.outputs()).containsExactly("y");
        List<TensorData> in = r.inputs();
        assertThat(in.get(0).shape()).isEqualTo(Shape.of(2, 2));
        assertThat((float[]) in.get(0).data()).containsExactly(1f, 2.5f, -3f, 400f);
        assertThat((double[]) in.get(1).data()).containsExactly(0.1);
        assertThat((long[]) in.get(2).data()).containsExactly(9007199254740993L, -1, 0);
        assertThat(in.get(3).dtype()).isEqualTo(DType.INT32);
        assertThat((long[]) in.get(4).data()).containsExactly(0, 255);
        assertThat((long[]) in.get(5).data()).containsExactly(1, 0);
        assertThat(in.get(6).shape().rank()).isZero();
    }

    @Test
    void refusesMalformedRequestsWithMessagesThatSayWhat() {
        assertBad("{", "Malformed JSON");
        assertBad("", "The request body must be a JSON object");
        assertBad("{\"inputs\": []}", "\"inputs\" must be a non-empty array");
        assertBad("{\"inputs\": [{\"datatype\": \"FP32\", \"shape\": [1], \"data\": [1]}]}", "needs a \"name\"");
        assertBad("{\"inputs\": [{\"name\": \"x\", \"shape\": [1], \"data\": [1]}]}", "needs a \"datatype\"");
        assertBad("{\"inputs\": [{\"name\": \"x\", \"datatype\": \"BYTES\", \"shape\": [1], \"data\": [1]}]}",
                "datatype 'BYTES'");
        assertBad("{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP32\", \"shape\": [-1], \"data\": [1]}]}",
                "every dimension must be an integer >= 0");
        assertBad("{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP32\", \"shape\": [3], \"data\": [1, 2]}]}",
                "has 2 values but shape [3] holds 3");
        assertBad("{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP32\", \"shape\": [1], \"data\": [1, 2]}]}",
                "more values than its shape holds (1)");
        assertBad("{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP32\", \"shape\": [1]}]}", "needs \"data\"");
        assertBad("{\"inputs\": [{\"name\": \"x\", \"datatype\": \"INT64\", \"shape\": [1], \"data\": [1.5]}]}",
                "is not a INT64 integer");
        assertBad("{\"inputs\": [{\"name\": \"x\", \"datatype\": \"UINT8\", \"shape\": [1], \"data\": [256]}]}",
                "is not a UINT8 integer");
        assertBad("{\"inputs\": [{\"name\": \"x\", \"datatype\": \"BOOL\", \"shape\": [1], \"data\": [1]}]}",
                "is not true or false");
        assertBad("{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP32\", \"shape\": [1], \"data\": [1]},"
                + "{\"name\": \"x\", \"datatype\": \"FP32\", \"shape\": [1], \"data\": [1]}]}", "given twice");
        assertBad("{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP32\", \"shape\": [65536, 65536], "
                + "\"data\": [1]}]}", "too large");
        assertBad("{\"inputs\": [{\"name\": \"x\", \"datatype\": \"FP32\", \"shape\": [1], \"data\": "
                + "[".repeat(100) + "1" + "]".repeat(100) + "}]}", "Malformed JSON");
    }

    @Test
    void writesResponsesAndErrors() {
        byte[] body = OipJson.inferResponse("m", 3, "id-1", List.of(
                new TensorData("y", DType.FLOAT32, Shape.of(1, 2), new float[] {0.5f, -1f}),
                new TensorData("b", DType.BOOL, Shape.of(1), new long[] {1})));
        assertThat(new String(body, StandardCharsets.UTF_8)).isEqualTo("{\"model_name\":\"m\",\"model_version\":\"3\","
                + "\"id\":\"id-1\",\"outputs\":[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[1,2],"
                + "\"data\":[0.5,-1.0]},{\"name\":\"b\",\"datatype\":\"BOOL\",\"shape\":[1],\"data\":[true]}]}");
        assertThat(new String(OipJson.error("say \"why\""), StandardCharsets.UTF_8))
                .isEqualTo("{\"error\":\"say \\\"why\\\"\"}");
    }
}
