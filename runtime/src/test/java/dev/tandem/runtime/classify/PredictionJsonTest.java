package dev.tandem.runtime.classify;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The predict line: JSON in ASCII whatever the labels, and numbers JSON can hold. */
class PredictionJsonTest {
    @Test
    void writesTheFileAndTheTopClassesInAscii() {
        String line = PredictionJson.line("a \"b\".png", List.of(new Prediction("grün\tx", 3, 0.75),
                new Prediction("y\\", 0, 1.0E-7)));
        assertThat(line).isEqualTo("{\"file\":\"a \\\"b\\\".png\",\"top\":[{\"label\":\"gr\\u00fcn\\tx\",\"index\":3,"
                + "\"probability\":0.75},{\"label\":\"y\\\\\",\"index\":0,\"probability\":1.0E-7}]}");
    }

    @Test
    void probabilitiesThatAreNotFiniteAreStringsAsJacksonWritesThem() {
        String line = PredictionJson.line("f", List.of(new Prediction("n", 0, Double.NaN),
                new Prediction("p", 1, Double.POSITIVE_INFINITY), new Prediction("m", 2, Double.NEGATIVE_INFINITY)));
        assertThat(line).isEqualTo("{\"file\":\"f\",\"top\":[{\"label\":\"n\",\"index\":0,\"probability\":\"NaN\"},"
                + "{\"label\":\"p\",\"index\":1,\"probability\":\"Infinity\"},"
                + "{\"label\":\"m\",\"index\":2,\"probability\":\"-Infinity\"}]}");
    }
}
