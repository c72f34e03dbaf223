package dev.tandem.serve.signing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ed25519 signatures of model files, with the JDK's own provider ({@code Signature.getInstance("Ed25519")}).
 *
 * <p><b>What is signed</b> is the 32-byte SHA-256 digest of the model file (not the file itself: Ed25519 reads
 * its message twice, so the JDK would hold a whole model in memory to sign or verify it). A {@code .sig} file
 * beside {@code model.onnx} holds the 64-byte signature in base64 on one line. The same check with OpenSSL:
 *
 * <pre>
 * openssl dgst -sha256 -binary model.onnx &gt; digest
 * base64 -d model.onnx.sig &gt; sig
 * openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem -rawin -in digest -sigfile sig
 * </pre>
 *
 * <p>Keys are PEM files: the public key as X.509 SubjectPublicKeyInfo ({@code -----BEGIN PUBLIC KEY-----}), the
 * private key as PKCS#8 ({@code -----BEGIN PRIVATE KEY-----}), as {@code openssl genpkey -algorithm ed25519}
 * writes them. Stateless; every method is thread-safe.
 */
public final class ModelSignatures {
    /** The suffix of a signature file: {@code model.onnx.sig}. */
    public static final String SIG_SUFFIX = ".sig";
    /** The private key's file name written by {@link #writeKeyPair}. */
    public static final String PRIVATE_KEY_FILE = "signing-key.pem";
    /** The public key's file name written by {@link #writeKeyPair}. */
    public static final String PUBLIC_KEY_FILE = "signing-key.pub.pem";
    private static final String ALG = "Ed25519";
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END \\1-----");

    private ModelSignatures() {
    }

    /** A fresh Ed25519 key pair. */
    public static KeyPair generateKeyPair() {
        try {
            return KeyPairGenerator.getInstance(ALG).generateKeyPair();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("This JVM has no Ed25519 provider", e);
        }
    }

    /**
     * Writes a new key pair as {@code dir/signing-key.pem} (PKCS#8, created with permissions 0600 where the file
     * system has POSIX permissions) and {@code dir/signing-key.pub.pem} (X.509).
     *
     * @return the private key file
     * @throws FileAlreadyExistsException when either file exists (keys are never overwritten)
     */
    public static Path writeKeyPair(Path dir) throws IOException {
        Files.createDirectories(dir);
        Path priv = dir.resolve(PRIVATE_KEY_FILE);
        Path pub = dir.resolve(PUBLIC_KEY_FILE);
        for (Path p : new Path[] {priv, pub}) {
            if (Files.exists(p)) {
                throw new FileAlreadyExistsException(p.toString(), null, "a key is never overwritten");
            }
        }
        KeyPair kp = generateKeyPair();
        // Created with 0600 from the start: the key is never readable by others, not even for a moment.
        if (Files.getFileStore(dir).supportsFileAttributeView("posix")) {
            Files.createFile(priv, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } else {
            Files.createFile(priv);
        }
        Files.writeString(priv, pem("PRIVATE KEY", kp.getPrivate().getEncoded()), StandardOpenOption.TRUNCATE_EXISTING);
        Files.writeString(pub, pem("PUBLIC KEY", kp.getPublic().getEncoded()), StandardOpenOption.CREATE_NEW);
        return priv;
    }

    /** The PEM text of a DER structure. */
    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /**
     * Reads an Ed25519 public key from a PEM file (X.509 SubjectPublicKeyInfo).
     *
     * @throws IllegalArgumentException when the file holds no Ed25519 public key
     */
    public static PublicKey readPublicKey(Path pemFile) throws IOException {
        return publicKey(pemBody(Files.readString(pemFile, StandardCharsets.US_ASCII), "PUBLIC KEY", pemFile));
    }

    /** An Ed25519 public key from its PEM text. */
    public static PublicKey parsePublicKey(String pemText) {
        return publicKey(pemBody(pemText, "PUBLIC KEY", null));
    }

    private static PublicKey publicKey(byte[] der) {
        try {
            return KeyFactory.getInstance(ALG).generatePublic(new X509EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("Not an Ed25519 public key: " + e.getMessage(), e);
        }
    }

    /**
     * Reads an Ed25519 private key from a PEM file (PKCS#8, unencrypted).
     *
     * @throws IllegalArgumentException when the file holds no Ed25519 private key
     */
    public static PrivateKey readPrivateKey(Path pemFile) throws IOException {
        byte[] der = pemBody(Files.readString(pemFile, StandardCharsets.US_ASCII), "PRIVATE KEY", pemFile);
        try {
            return KeyFactory.getInstance(ALG).generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("'" + pemFile + "' is not an Ed25519 private key (PKCS#8 PEM, as "
                    + "tandem keygen writes): " + e.getMessage(), e);
        }
    }

    private static byte[] pemBody(String text, String type, Path file) {
        Matcher m = PEM.matcher(text);
        while (m.find()) {
            if (m.group(1).equals(type)) {
                try {
                    return Base64.getMimeDecoder().decode(m.group(2));
                } catch (IllegalArgumentException e) {
                    break;
                }
            }
        }
        throw new IllegalArgumentException((file == null ? "The text" : "'" + file + "'") + " holds no PEM block "
                + "'-----BEGIN " + type + "-----'" + (type.equals("PUBLIC KEY") ? "; give the public key ("
                + PUBLIC_KEY_FILE + ")" : "; give the private key (" + PRIVATE_KEY_FILE + ")"));
    }

    /** The SHA-256 digest of a file, read in blocks. */
    public static byte[] sha256(Path file) throws IOException {
        MessageDigest md = sha256();
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return md.digest();
    }

    /** A fresh SHA-256 digest. */
    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Lower-case hex. */
    public static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    /** The signature of a model file's SHA-256 digest. */
    public static byte[] sign(PrivateKey key, byte[] sha256) {
        requireDigest(sha256);
        try {
            Signature s = Signature.getInstance(ALG);
            s.initSign(key);
            s.update(sha256);
            return s.sign();
        } catch (InvalidKeyException e) {
            throw new IllegalArgumentException("Not an Ed25519 private key: " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Signs a model file: writes {@code model + ".sig"} (base64, one line), replacing an older one atomically.
     *
     * @return the signature file
     */
    public static Path signFile(PrivateKey key, Path model) throws IOException {
        byte[] sig = sign(key, sha256(model));
        Path out = model.resolveSibling(model.getFileName() + SIG_SUFFIX);
        Path tmp = model.resolveSibling(model.getFileName() + SIG_SUFFIX + ".tmp");
        Files.writeString(tmp, encode(sig));
        Files.move(tmp, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return out;
    }

    /** The text of a {@code .sig} file: the signature in base64 and a newline. */
    public static String encode(byte[] signature) {
        return Base64.getEncoder().encodeToString(signature) + "\n";
    }

    /**
     * The signature in a {@code .sig} file's text.
     *
     * @throws IllegalArgumentException when it is not base64 of 64 bytes
     */
    public static byte[] decode(String sigText) {
        byte[] b;
        try {
            b = Base64.getDecoder().decode(sigText.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("The signature is not base64: " + e.getMessage(), e);
        }
        if (b.length != 64) {
            throw new IllegalArgumentException("An Ed25519 signature has 64 bytes; this one has " + b.length);
        }
        return b;
    }

    /** True when {@code signature} is {@code key}'s signature of this SHA-256 digest. */
    public static boolean verify(PublicKey key, byte[] sha256, byte[] signature) {
        requireDigest(sha256);
        try {
            Signature s = Signature.getInstance(ALG);
            s.initVerify(key);
            s.update(sha256);
            return s.verify(signature);
        } catch (SignatureException e) {
            return false;
        } catch (InvalidKeyException e) {
            throw new IllegalArgumentException("Not an Ed25519 public key: " + e.getMessage(), e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Verifies a model file against its {@code .sig} file.
     *
     * @throws SecurityException naming the file when the signature is missing, malformed or not the key's
     */
    public static void verifyFile(PublicKey key, Path model, Path sig) {
        byte[] digest;
        String text;
        try {
            digest = sha256(model);
            text = Files.readString(sig, StandardCharsets.US_ASCII);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new SecurityException("No signature: '" + e.getFile() + "' is missing");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] s;
        try {
            s = decode(text);
        } catch (IllegalArgumentException e) {
            throw new SecurityException("Malformed signature file '" + sig + "': " + e.getMessage());
        }
        if (!verify(key, digest, s)) {
            throw new SecurityException("The signature of '" + model + "' (sha256 " + hex(digest).toLowerCase(
                    Locale.ROOT) + ") does not verify with the pinned public key");
        }
    }

    private static void requireDigest(byte[] d) {
        if (d == null || d.length != 32) {
            throw new IllegalArgumentException("A SHA-256 digest has 32 bytes; got " + (d == null ? null : d.length));
        }
    }
}
