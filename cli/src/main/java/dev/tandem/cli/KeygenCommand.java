package dev.tandem.cli;

import dev.tandem.serve.signing.ModelSignatures;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tandem keygen}: an Ed25519 key pair for signing models that devices install over the air. */
@Command(
        name = "keygen",
        mixinStandardHelpOptions = true,
        description = {"Write an Ed25519 key pair for model signatures: DIR/" + ModelSignatures.PRIVATE_KEY_FILE
                + " (PKCS#8 PEM, permissions 0600)",
            "and DIR/" + ModelSignatures.PUBLIC_KEY_FILE + " (X.509 PEM, to pin in devices). Existing keys are never overwritten."})
public final class KeygenCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Folder for the key files (created if missing).")
    Path out;

    @Override
    public Integer call() throws IOException {
        Path priv = ModelSignatures.writeKeyPair(out);
        PrintWriter w = spec.commandLine().getOut();
        w.println("private key: " + priv + " (keep it secret; sign with: tandem sign --key " + priv
                + " --model M.onnx)");
        w.println("public key:  " + out.resolve(ModelSignatures.PUBLIC_KEY_FILE) + " (pin it in devices)");
        w.flush();
        return 0;
    }
}
