package dev.tagscope.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model version: the card's {@code version}, else {@code sha256:} and 12 hex digits of the file's SHA-256. */
class ModelVersionTest {
  @TempDir Path dir;

  /** Hex of a digest, written out by hand so the check does not share the code under test. */
  private static String hex(byte[] digest) {
    StringBuilder sb = new StringBuilder();
    for (byte b : digest) {
      sb.append(Character.forDigit((b >> 4) & 0xF, 16)).append(Character.forDigit(b & 0xF, 16));
    }
    return sb.toString();
  }

  @Test
  void theDigestOfAKnownContentIsTheFipsTestVector() throws Exception {
    // FIPS 180-2, appendix B.1: SHA-256("abc") = ba7816bf 8f01cfea ...
    Path f = Files.write(dir.resolve("abc.onnx"), "abc".getBytes(StandardCharsets.US_ASCII));
    assertEquals("sha256:ba7816bf8f01", ModelVersion.digest(f));
    assertEquals("sha256:ba7816bf8f01", ModelVersion.of(f), "no card: the digest");
  }

  @Test
  void aFileLargerThanTheReadBufferIsDigestedWhole() throws Exception {
    byte[] content = new byte[300_001];
    new Random(7).nextBytes(content);
    Path f = Files.write(dir.resolve("big.onnx"), content);
    String expected = "sha256:" + hex(MessageDigest.getInstance("SHA-256").digest(content)).substring(0, 12);
    assertEquals(expected, ModelVersion.digest(f));
    content[300_000] ^= 1; // the last byte counts
    Files.write(f, content);
    assertNotEquals(expected, ModelVersion.digest(f));
  }

  @Test
  void theCardsVersionWinsOverTheDigest() throws Exception {
    Path f = Files.write(dir.resolve("m.onnx"), new byte[] {1, 2, 3});
    Files.writeString(dir.resolve("m.json"), "{\"name\":\"m\",\"version\":\" 2026-12-a \"}");
    assertEquals("2026-12-a", ModelVersion.of(f));
  }

  @Test
  void aBlankCardVersionIsRefusedNamingTheField() throws Exception {
    Path f = Files.write(dir.resolve("m.onnx"), new byte[] {1});
    Files.writeString(dir.resolve("m.json"), "{\"version\":\"  \"}");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelVersion.of(f));
    assertTrue(e.getMessage().contains("'version'") && e.getMessage().contains("m.json"), e.getMessage());
  }

  @Test
  void aMissingFileIsRefusedNamingIt() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ModelVersion.digest(dir.resolve("gone.onnx")));
    assertTrue(e.getMessage().contains("gone.onnx"), e.getMessage());
  }

  @Test
  void aLoadedModelReportsItsVersion() throws Exception {
    Path copy = TestModels.copyBundled(dir, null);
    String expected = "sha256:" + hex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(copy))).substring(0, 12);
    try (ActivationModel m = ActivationModel.load(ModelConfig.of(copy))) {
      assertEquals(expected, m.version());
    }
    TestModels.writeCard(copy, "v7");
    try (ActivationModel m = ActivationModel.load(ModelConfig.of(copy))) {
      assertEquals("v7", m.version());
    }
  }
}
