package dev.tandem.cli;

import dev.tandem.serve.signing.ModelSignatures;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code tandem sign}: signs a model file for over-the-air updates; writes M.onnx.sig beside it. */
@Command(
        name = "sign",
        mixinStandardHelpOptions = true,
        description = {"Sign a model with an Ed25519 private key (tandem keygen): writes M.onnx.sig beside it,",
            "the signature of the file's SHA-256 in base64. The server hands it out with the model; devices",
            "verify it against their pinned public key before installing the model."})
public final class SignCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--key", required = true, paramLabel = "K", description = "The private key (PKCS#8 PEM).")
    Path key;

    @Option(names = "--model", required = true, paramLabel = "M.onnx", description = "The model file to sign.")
    Path model;

    @Override
    public Integer call() throws IOException {
        if (!Files.isRegularFile(model)) {
            throw new ParameterException(spec.commandLine(), "--model '" + model + "' is not a file");
        }
        Path sig = ModelSignatures.signFile(ModelSignatures.readPrivateKey(key), model);
        PrintWriter w = spec.commandLine().getOut();
        w.println("sha256 " + ModelSignatures.hex(ModelSignatures.sha256(model)) + "  " + model);
        w.println("signature: " + sig);
        w.flush();
        return 0;
    }
}
