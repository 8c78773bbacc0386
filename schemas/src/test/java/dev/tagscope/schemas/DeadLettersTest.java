package dev.tagscope.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** A dead letter's reason is one printable line, whatever names the refused record carried. */
class DeadLettersTest {
  @Test
  void controlCharactersInAReasonBecomeEscapes() {
    String layer = "layer1\nWARN forged log line\r\tand a bell \u0007";
    DeadLetter d = DeadLetters.of("spectral-stream", "no filter values at layer '" + layer + "'", "t", 0, 1, null, null);
    assertEquals("no filter values at layer 'layer1\\nWARN forged log line\\r\\tand a bell \\u0007'", d.getError());
    assertEquals(d.getError(),
        new String(DeadLetters.headers(d).lastHeader(DeadLetters.HEADER_ERROR).value(), StandardCharsets.UTF_8));
  }

  @Test
  void aPrintableReasonIsKeptAsItIs() {
    String reason = "imageFrame 300 is outside 0..239 (framesPerImage of probe 'p-ü')";
    assertSame(reason, DeadLetters.printable(reason));
  }
}
