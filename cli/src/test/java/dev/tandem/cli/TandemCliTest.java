package dev.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class TandemCliTest {

    /** What one run of the command printed and returned. */
    private record Result(int exitCode, String out, String err) {}

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cmd = Tandem.commandLine();
        cmd.setOut(new PrintWriter(out, true));
        cmd.setErr(new PrintWriter(err, true));
        int code = cmd.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void helpExitsZeroAndListsSubcommands() {
        Result r = run("--help");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("Usage: tandem", "quickstart", "info");
    }

    @Test
    void versionNamesTheBuiltVersionJavaAndVectorWidth() {
        Result r = run("--version");
        assertThat(r.exitCode()).isZero();
        assertThat(JvmFacts.tandemVersion()).matches("\\d+\\.\\d+\\.\\d+.*").doesNotContain("${");
        assertThat(r.out())
                .contains("tandem " + JvmFacts.tandemVersion())
                .contains("Java " + System.getProperty("java.version"))
                .contains("vector width");
    }

    @Test
    void infoJsonIsOneObjectWithTheProcessorCount() throws Exception {
        Result r = run("info", "--json");
        assertThat(r.exitCode()).isZero();
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertThat(json.isObject()).isTrue();
        assertThat(json.get("availableProcessors").asInt()).isEqualTo(Runtime.getRuntime().availableProcessors());
        assertThat(json.get("vectorBitSize").asInt()).isPositive();
    }

    @Test
    void infoTextIsAligned() {
        Result r = run("info");
        assertThat(r.exitCode()).isZero();
        assertThat(r.out()).contains("processors").contains("java.home");
    }

    @Test
    void quickstartRejectsZeroThreads() {
        Result r = run("quickstart", "--threads", "0");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--threads must be >= 1");
    }

    @Test
    void noSubcommandIsAUsageError() {
        Result r = run();
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("Missing subcommand");
    }

    @Test
    void quickstartTrainsExportsEvaluatesAndClassifies(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        java.nio.file.Path out = dir.resolve("qs");
        Result r = run("quickstart", "--out", out.toString(), "--epochs", "1", "--limit", "512", "--threads", "2");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(r.out()).contains("Tandem quickstart: FashionNet on Fashion-MNIST", "best test accuracy",
                "The exported model, run by Tandem's runtime", "test-0000.png", "(true: Ankle boot)", "Written to");
        assertThat(out.resolve("model.onnx")).isNotEmptyFile();
        assertThat(out.resolve("samples/test-0005.png")).isNotEmptyFile();
    }
}
