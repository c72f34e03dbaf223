package dev.tandem.train.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class StepBenchTest {
    @Test
    void measuresStepsOnTheCpuAndPrintsAResultLine() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = StepBench.run(new String[] {"--arch", "resnet8", "--input", "3x12x12", "--batch", "4", "--steps",
            "3", "--warmup", "1", "--device", "cpu", "--threads", "1"}, new PrintStream(out, true,
                StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
        Matcher m = Pattern.compile("RESULT arch=resnet8 device=cpu batch=4 steps=3 ms_per_step=([0-9.]+) "
                + "images_per_second=([0-9]+) loss=([0-9.]+)").matcher(text);
        assertThat(m.find()).as(text).isTrue();
        assertThat(Double.parseDouble(m.group(1))).isPositive();
        assertThat(Double.parseDouble(m.group(3))).isBetween(0.5, 5.0);
    }

    @Test
    void badArgumentsAndAMissingGpuHaveTheirExitCodes() {
        PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThat(StepBench.run(new String[] {"--batch", "1"}, sink, sink)).isEqualTo(2);
        assertThat(StepBench.run(new String[] {"--arch"}, sink, sink)).isEqualTo(2);
        assertThat(StepBench.run(new String[] {"--arch", "vgg16", "--device", "cpu"}, sink, sink)).isEqualTo(2);
        assertThat(StepBench.run(new String[] {"--device", "cuda"}, sink, sink)).isEqualTo(3);
    }
}
