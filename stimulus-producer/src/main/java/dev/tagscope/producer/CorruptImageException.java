package dev.tagscope.producer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An image source file that cannot be read as what it claims to be: a bad IDX magic number,
 * a truncated IDX or gzip stream, an images/labels count mismatch, or a PNG/JPEG that
 * {@code javax.imageio} cannot decode. The message names the file, the byte offset where
 * known, and what was expected there.
 */
public final class CorruptImageException extends IOException {
  private static final long serialVersionUID = 1L;
  private final transient Path file;
  private final long offset;

  /**
   * @param file the offending file
   * @param offset byte offset of the problem (of the uncompressed stream for gzip files), or -1
   *     when unknown
   * @param message what was expected and what was found
   * @param cause the underlying error, or null
   */
  public CorruptImageException(Path file, long offset, String message, Throwable cause) {
    super(file + (offset >= 0 ? ": byte offset " + offset : "") + ": " + message, cause);
    this.file = file;
    this.offset = offset;
  }

  /** @return the offending file */
  public Path file() {
    return file;
  }

  /** @return byte offset of the problem (uncompressed for gzip files), or -1 when unknown */
  public long offset() {
    return offset;
  }
}
