package dev.tandem.serve.signing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelSignaturesTest {
    @TempDir
    Path dir;

    @Test
    void keysAreWrittenOnceWithAPrivateFileReadableByTheOwnerOnly() throws Exception {
        Path priv = ModelSignatures.writeKeyPair(dir.resolve("keys"));
        Path pub = dir.resolve("keys").resolve(ModelSignatures.PUBLIC_KEY_FILE);
        assertThat(Files.readString(priv)).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(Files.readString(pub)).startsWith("-----BEGIN PUBLIC KEY-----");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(priv))).isEqualTo("rw-------");
        assertThatThrownBy(() -> ModelSignatures.writeKeyPair(dir.resolve("keys")))
                .isInstanceOf(FileAlreadyExistsException.class);
        assertThat(ModelSignatures.readPrivateKey(priv).getAlgorithm()).isIn("Ed25519", "EdDSA");
        assertThatThrownBy(() -> ModelSignatures.readPrivateKey(pub)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("PRIVATE KEY");
    }

    @Test
    void aSignedFileVerifiesAndATamperedOneOrAnotherKeyDoesNot() throws Exception {
        Path keys = dir.resolve("keys");
        PrivateKey priv = ModelSignatures.readPrivateKey(ModelSignatures.writeKeyPair(keys));
        PublicKey pub = ModelSignatures.readPublicKey(keys.resolve(ModelSignatures.PUBLIC_KEY_FILE));
        Path model = Files.write(dir.resolve("model.onnx"), "pretend model bytes".getBytes(StandardCharsets.UTF_8));
        Path sig = ModelSignatures.signFile(priv, model);
        assertThat(sig.getFileName().toString()).isEqualTo("model.onnx.sig");
        assertThat(ModelSignatures.decode(Files.readString(sig))).hasSize(64);
        ModelSignatures.verifyFile(pub, model, sig);

        PublicKey other = ModelSignatures.generateKeyPair().getPublic();
        assertThatThrownBy(() -> ModelSignatures.verifyFile(other, model, sig)).isInstanceOf(SecurityException.class)
                .hasMessageContaining("does not verify");
        Files.write(model, "pretend model bytes!".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> ModelSignatures.verifyFile(pub, model, sig)).isInstanceOf(SecurityException.class);
        Files.writeString(sig, "not base64 at all");
        assertThatThrownBy(() -> ModelSignatures.verifyFile(pub, model, sig)).isInstanceOf(SecurityException.class)
                .hasMessageContaining("Malformed");
        assertThatThrownBy(() -> ModelSignatures.verifyFile(pub, model, dir.resolve("none.sig")))
                .isInstanceOf(SecurityException.class).hasMessageContaining("No signature");
    }

    /** The documented OpenSSL recipe verifies Tandem's signatures: the format is plain Ed25519 over the digest. */
    @Test
    void openSslVerifiesTheSignature() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "openssl is not installed");
        Path keys = dir.resolve("keys");
        PrivateKey priv = ModelSignatures.readPrivateKey(ModelSignatures.writeKeyPair(keys));
        Path model = Files.write(dir.resolve("model.onnx"), new byte[] {1, 2, 3, 4, 5});
        Path sig = ModelSignatures.signFile(priv, model);
        Files.write(dir.resolve("digest"), ModelSignatures.sha256(model));
        Files.write(dir.resolve("sig.bin"), ModelSignatures.decode(Files.readString(sig)));
        Process p = new ProcessBuilder(List.of("/usr/bin/openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                keys.resolve(ModelSignatures.PUBLIC_KEY_FILE).toString(), "-rawin", "-in",
                dir.resolve("digest").toString(), "-sigfile", dir.resolve("sig.bin").toString()))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("Signature Verified Successfully");
    }
}
