package dev.tagscope.launcher;

import dev.tagscope.producer.Image;
import dev.tagscope.producer.LiveTraffic;
import dev.tagscope.service.KafkaClientPolicy;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The demo's stand-in for a deployment: writes images to a requests topic as PNG-encoded inference
 * requests ({@link LiveTraffic}'s contract: PNG bytes, label in {@value LiveTraffic#HEADER_LABEL}),
 * with an idempotent producer of its own, so that {@code tagscope demo --live-traffic} probes
 * live traffic end to end.
 */
final class RequestFeeder {
  private RequestFeeder() {}

  /**
   * Writes the images, one request each, keyed by image id, in order, to partition 0, and waits
   * until every one is acknowledged.
   *
   * @param bootstrap the cluster
   * @param clientOverrides {@code --kafka} settings
   * @param topic the requests topic
   * @param images gray {@code [1,H,W]} or RGB {@code [3,H,W]} images
   * @return the number of requests written
   * @throws KafkaException when the cluster refuses a request
   * @throws InterruptedException when interrupted while waiting for an acknowledgement
   */
  static int feed(String bootstrap, Map<String, Object> clientOverrides, String topic, List<Image> images)
      throws InterruptedException {
    Map<String, Object> cfg = KafkaClientPolicy.idempotentProducer().bootstrapServers(bootstrap)
        .set(ProducerConfig.CLIENT_ID_CONFIG, "tagscope-demo-requests").overrides(clientOverrides).build();
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(cfg, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (Image img : images) {
        RecordHeaders h = new RecordHeaders();
        if (img.label() != null) {
          h.add(LiveTraffic.HEADER_LABEL, Integer.toString(img.label()).getBytes(StandardCharsets.UTF_8));
        }
        p.send(new ProducerRecord<>(topic, 0, null, img.id().getBytes(StandardCharsets.UTF_8), png(img), h)).get();
      }
    } catch (ExecutionException e) {
      throw new KafkaException("cannot write the demo's requests to " + topic + ": " + e.getCause().getMessage(), e.getCause());
    }
    return images.size();
  }

  /**
   * An image as PNG bytes: 8-bit gray for one channel, RGB for three.
   *
   * @param img the image
   * @return the PNG file's bytes
   */
  static byte[] png(Image img) {
    int h = img.height();
    int w = img.width();
    BufferedImage bi = new BufferedImage(w, h, img.channels() == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        if (img.channels() == 1) {
          bi.getRaster().setSample(x, y, 0, img.pixel(0, y, x));
        } else {
          bi.setRGB(x, y, (img.pixel(0, y, x) << 16) | (img.pixel(1, y, x) << 8) | img.pixel(2, y, x));
        }
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      ImageIO.write(bi, "png", out);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return out.toByteArray();
  }
}
