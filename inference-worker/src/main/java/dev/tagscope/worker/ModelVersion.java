package dev.tagscope.worker;

import dev.tagscope.worker.internal.Sidecar;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The version of a model, as {@link ActivationModel#version()} reports it and every
 * {@code ActivationFrame.modelVersion} carries it (issue 9): the model card's {@code version}
 * field when the card ({@code <model>.json}) has one, else {@value #DIGEST_PREFIX} followed by the
 * first {@value #DIGEST_HEX_DIGITS} hex digits of the SHA-256 of the model file (FIPS 180-4),
 * e.g. {@code sha256:3f2a9c01b7de}. 48 bits of the digest tell the versions of one model apart
 * (a collision among a few thousand versions has odds below 1e-7) and stay short in keys such as
 * {@code model@version/layer}.
 *
 * <pre>{@code
 * String v = ModelVersion.of(Path.of("models/fmnist-resnet32.onnx"));   // "sha256:..." or the card's version
 * }</pre>
 */
public final class ModelVersion {
  /** Prefix of a version taken from the file's digest. */
  public static final String DIGEST_PREFIX = "sha256:";
  /** Hex digits of the SHA-256 kept in a digest version. */
  public static final int DIGEST_HEX_DIGITS = 12;

  private static final int BUFFER_BYTES = 1 << 16;

  private ModelVersion() {}

  /**
   * The version of a model file: its card's {@code version}, else its digest ({@link #digest}).
   *
   * @param modelFile the {@code .onnx} or {@code .pt} file; its card is {@link Sidecar#pathFor(Path)}
   * @return the version, never blank
   * @throws IllegalArgumentException when the card exists but is not valid JSON of the card's shape, its
   *     {@code version} is blank, or the model file cannot be read
   */
  public static String of(Path modelFile) {
    return of(modelFile, Sidecar.readFor(modelFile));
  }

  /**
   * The version of a model file with its card already read.
   *
   * @param modelFile the model file
   * @param card its card ({@link Sidecar#EMPTY} when there is none)
   * @return {@code card.version()} when set, else {@link #digest(Path)}
   * @throws IllegalArgumentException when the model file cannot be read
   */
  static String of(Path modelFile, Sidecar card) {
    return card.version() != null ? card.version() : digest(modelFile);
  }

  /**
   * The version of a model file exported from another, as the TorchScript twin of an ONNX model
   * ({@code tools/torchscript_export.py}): its card's {@code version}, else the digest of the file it
   * was exported from. The twin holds the same weights, so the engines report one version for them:
   * a worker moved from one engine to the other, or the visualisations drawn with the twin, stay
   * with the ONNX model's version.
   *
   * @param modelFile the exported file (its card is {@link Sidecar#pathFor(Path)})
   * @param sourceSha256 the SHA-256 of the file it was exported from, 64 hex digits
   * @return the version, never blank
   * @throws IllegalArgumentException when the card is invalid or {@code sourceSha256} is not 64 hex digits
   */
  public static String ofExport(Path modelFile, String sourceSha256) {
    Sidecar card = Sidecar.readFor(modelFile);
    if (card.version() != null) {
      return card.version();
    }
    if (sourceSha256 == null || !sourceSha256.matches("[0-9a-fA-F]{64}")) {
      throw new IllegalArgumentException(modelFile + ": its export records sourceSha256 '" + sourceSha256 + "', not 64 hex"
          + " digits; export it again with tools/torchscript_export.py");
    }
    return DIGEST_PREFIX + sourceSha256.substring(0, DIGEST_HEX_DIGITS).toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * {@value #DIGEST_PREFIX} and the first {@value #DIGEST_HEX_DIGITS} lower-case hex digits of the
   * SHA-256 of a file, read as a stream (a model of hundreds of MB is not held in memory for it).
   *
   * @param file the file
   * @return e.g. {@code sha256:3f2a9c01b7de}
   * @throws IllegalArgumentException when the file cannot be read, naming it
   */
  public static String digest(Path file) {
    return DIGEST_PREFIX + sha256(file).substring(0, DIGEST_HEX_DIGITS);
  }

  /**
   * The SHA-256 of a file, read as a stream.
   *
   * @param file the file
   * @return 64 lower-case hex digits
   * @throws IllegalArgumentException when the file cannot be read, naming it
   */
  public static String sha256(Path file) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256, which every Java SE platform must provide", e);
    }
    byte[] buf = new byte[BUFFER_BYTES];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
        sha.update(buf, 0, n);
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read model file " + file.toAbsolutePath() + " for its SHA-256: "
          + e.getMessage(), e);
    }
    return HexFormat.of().formatHex(sha.digest());
  }
}
