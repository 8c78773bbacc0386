package dev.tagscope.producer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.producer.internal.RequestDecoder;
import dev.tagscope.producer.internal.RequestDecoder.Decoded;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

/** The request contract of {@link LiveTraffic}: content detection, shape and label headers, refusals. */
class RequestDecoderTest {
  private final RequestDecoder gray = new RequestDecoder(1, 6, 5);

  private static RecordHeaders headers(String... nameValue) {
    RecordHeaders h = new RecordHeaders();
    for (int i = 0; i < nameValue.length; i += 2) {
      h.add(nameValue[i], nameValue[i + 1].getBytes(StandardCharsets.UTF_8));
    }
    return h;
  }

  private static String refused(Decoded d) {
    assertNull(d.image(), "refused");
    return d.reason();
  }

  @Test
  void grayPngDecodesToItsPixelsWithLabel() {
    byte[] png = TestRequests.encode(TestRequests.grayPicture(2, 6, 5), "png");
    Decoded d = gray.decode("req-0@4", headers(LiveTraffic.HEADER_LABEL, " 7 "), png);
    assertNull(d.reason());
    assertEquals("req-0@4", d.image().id());
    assertEquals(7, d.image().label());
    assertEquals(1, d.image().channels());
    assertArrayEquals(TestRequests.grayPixels(2, 6, 5), d.image().pixels());
  }

  @Test
  void rgbPngBecomesThreePlanesAndLabelIsOptional() {
    RequestDecoder rgb = new RequestDecoder(3, 4, 3);
    Decoded d = rgb.decode("r", headers(), TestRequests.encode(TestRequests.rgbPicture(1, 4, 3), "png"));
    assertNull(d.image().label());
    byte[] px = d.image().pixels();
    // pixel (y=2, x=1): red 10 + 9 = 19, green 200 - 10 = 190, blue 3 + 8 = 11
    int i = 2 * 3 + 1;
    assertEquals(19, px[i] & 0xff);
    assertEquals(190, px[12 + i] & 0xff);
    assertEquals(11, px[24 + i] & 0xff);
  }

  @Test
  void jpegDecodesAsImageIoReadsIt() {
    RequestDecoder rgb = new RequestDecoder(3, 8, 8);
    byte[] jpeg = TestRequests.encode(TestRequests.rgbPicture(3, 8, 8), "jpeg");
    assertEquals(0xFF, jpeg[0] & 0xff);
    Decoded d = rgb.decode("j", headers(), jpeg);
    assertNull(d.reason());
    assertArrayEquals(TestRequests.decodedRgbPlanes(jpeg), d.image().pixels());
  }

  @Test
  void rawPixelsWithShapeHeaderAreTakenAsTheyAreEvenWhenTheyLookLikeAJpeg() {
    byte[] raw = new byte[30];
    for (int i = 0; i < raw.length; i++) {
      raw[i] = (byte) (i * 8 + 1);
    }
    raw[0] = (byte) 0xFF;
    raw[1] = (byte) 0xD8;
    raw[2] = (byte) 0xFF;
    Decoded d = gray.decode("raw", headers(LiveTraffic.HEADER_SHAPE, "1, 6 ,5"), raw);
    assertNull(d.reason());
    assertArrayEquals(raw, d.image().pixels());
  }

  @Test
  void lastHeaderOfANameCounts() {
    RecordHeaders h = headers(LiveTraffic.HEADER_SHAPE, "garbage", LiveTraffic.HEADER_SHAPE, "1,6,5",
        LiveTraffic.HEADER_LABEL, "x", LiveTraffic.HEADER_LABEL, "3");
    Decoded d = gray.decode("raw", h, new byte[30]);
    assertNull(d.reason());
    assertEquals(3, d.image().label());
  }

  @Test
  void garbageWithoutShapeHeaderIsRefusedNamingItsFirstBytes() {
    String reason = refused(gray.decode("g", headers(), "hello, model".getBytes(StandardCharsets.US_ASCII)));
    assertTrue(reason.contains("neither a PNG") && reason.contains("68 65 6C 6C 6F 2C 20 6D") && reason.contains("12 bytes"), reason);
    assertTrue(refused(gray.decode("n", headers(), null)).contains("tombstone"));
    assertTrue(refused(gray.decode("e", headers(), new byte[0])).contains("no value"));
  }

  @Test
  void truncatedPngIsRefusedAsUndecodable() {
    byte[] png = TestRequests.encode(TestRequests.grayPicture(0, 6, 5), "png");
    String reason = refused(gray.decode("t", headers(), Arrays.copyOf(png, 40)));
    assertTrue(reason.startsWith("a PNG that javax.imageio cannot decode"), reason);
  }

  @Test
  void garbledShapeHeadersAreRefused() {
    assertTrue(refused(gray.decode("s", headers(LiveTraffic.HEADER_SHAPE, "1x6x5"), new byte[30]))
        .contains("must be \"C,H,W\""));
    assertTrue(refused(gray.decode("s", headers(LiveTraffic.HEADER_SHAPE, "0,6,5"), new byte[30])).contains("C, H and W >= 1"));
    String len = refused(gray.decode("s", headers(LiveTraffic.HEADER_SHAPE, "1,6,5"), new byte[29]));
    assertTrue(len.contains("[1,6,5] = 30 uint8 bytes") && len.contains("holds 29 bytes"), len);
    String huge = refused(gray.decode("s", headers(LiveTraffic.HEADER_SHAPE, "999999999,999999999,999999999"), new byte[30]));
    assertTrue(huge.contains("= 999999997000000002999999999 uint8 bytes"), huge); // no long overflow
  }

  @Test
  void otherShapesAreRefusedNotResized() {
    String raw = refused(gray.decode("s", headers(LiveTraffic.HEADER_SHAPE, "1,5,6"), new byte[30]));
    assertTrue(raw.contains("raw request of shape [1,5,6], but the probe's images are [1,6,5]") && raw.contains("--image-shape 1,5,6"), raw);
    String size = refused(gray.decode("p", headers(), TestRequests.encode(TestRequests.grayPicture(0, 7, 5), "png")));
    assertTrue(size.contains("PNG image of shape [C,7,5], but the probe's images are [1,6,5]"), size);
    String channels = refused(gray.decode("p", headers(), TestRequests.encode(TestRequests.rgbPicture(0, 6, 5), "png")));
    assertTrue(channels.contains("PNG image of shape [3,6,5]"), channels);
  }

  @Test
  void garbledLabelIsRefused() {
    byte[] png = TestRequests.encode(TestRequests.grayPicture(0, 6, 5), "png");
    assertTrue(refused(gray.decode("l", headers(LiveTraffic.HEADER_LABEL, "shirt"), png)).contains("class index"));
    assertTrue(refused(gray.decode("l", headers(LiveTraffic.HEADER_LABEL, "-1"), png)).contains("class index"));
  }
}
