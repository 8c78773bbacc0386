package dev.tagscope.schemas.fuzz;

import java.util.HexFormat;

/**
 * One fuzz input: the bytes a decoder is given and what they were meant for, shown in hex in the
 * failure of a fuzz test (Jazzer keeps the whole input as a crash file besides).
 *
 * @param how what the bytes are, e.g. {@code "tagscope.activations value"} or {@code "image.png"}
 * @param bytes the input
 */
public record FuzzInput(String how, byte[] bytes) {
  /** Inputs longer than this are shown cut in reports. */
  private static final int SHOWN = 4096;

  /** @return the input in hex, the first {@value #SHOWN} bytes */
  public String hex() {
    if (bytes == null) {
      return "null";
    }
    String hex = HexFormat.of().formatHex(bytes, 0, Math.min(bytes.length, SHOWN));
    return bytes.length > SHOWN ? hex + "... (" + (bytes.length - SHOWN) + " more bytes)" : hex;
  }

  @Override
  public String toString() {
    return how + " (" + (bytes == null ? "null" : bytes.length + " bytes") + "): " + hex();
  }
}
