package dev.tagscope.spectral;

import static org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
import static org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.service.PinnedSettingException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The service's own decisions, without a broker: its Kafka Streams client is a real one that is
 * never started, and reports a close timeout when the test says so.
 */
class SpectralServiceTest {
  /** Never connects; {@code close} reports what the test sets, after really closing. */
  static final class FakeStreams extends KafkaStreams {
    volatile boolean stopsInTime = true;
    final List<Duration> closeTimeouts = new ArrayList<>();
    StreamsUncaughtExceptionHandler handler;

    FakeStreams(Topology topology, Properties props) {
      super(topology, props);
    }

    @Override
    public synchronized void start() {
      // no broker in these tests
    }

    @Override
    public void setUncaughtExceptionHandler(StreamsUncaughtExceptionHandler handler) {
      this.handler = handler;
      super.setUncaughtExceptionHandler(handler);
    }

    @Override
    public synchronized boolean close(Duration timeout) {
      closeTimeouts.add(timeout);
      super.close(timeout);
      return stopsInTime;
    }
  }

  final List<FakeStreams> made = new ArrayList<>();
  SpectralService service;

  SpectralService service() {
    service = new SpectralService("127.0.0.1:1", Map.of(), new SimpleMeterRegistry(), (t, p) -> {
      FakeStreams s = new FakeStreams(t, p);
      made.add(s);
      return s;
    });
    return service;
  }

  @AfterEach
  void cleanUp() {
    made.forEach(s -> s.stopsInTime = true);
    if (service != null) {
      service.close();
    }
  }

  @Test
  void aStreamThreadThatKeepsFailingIsReplacedAFewTimesThenTheClientShutsDownWithAReason() {
    service().start();
    StreamsUncaughtExceptionHandler h = made.get(0).handler;
    assertNotNull(h, "the service installs an uncaught-exception handler");
    RuntimeException poison = new IllegalStateException("store corrupt");
    for (int i = 0; i < SpectralService.MAX_THREAD_REPLACEMENTS; i++) {
      assertEquals(REPLACE_THREAD, h.handle(poison), "replacement " + (i + 1));
    }
    assertTrue(service.failure().isEmpty());
    assertEquals(SHUTDOWN_CLIENT, h.handle(poison));
    String why = service.failure().orElseThrow().getMessage();
    assertTrue(why.contains("spectral-stream") && why.contains("store corrupt")
        && why.contains("at most " + SpectralService.MAX_THREAD_REPLACEMENTS + " replacements"), why);
  }

  @Test
  void theTemporaryStateFolderStaysWhileKafkaStreamsHasNotStoppedAndGoesOnceItHas() {
    service().start();
    Path dir = service.stateDirectory();
    assertTrue(Files.isDirectory(dir), dir.toString());
    made.get(0).stopsInTime = false;
    service.close();
    assertTrue(Files.isDirectory(dir), "threads may still write there: the folder must stay");
    made.get(0).stopsInTime = true;
    service.close(); // waits again, and this time Kafka Streams has stopped
    assertFalse(Files.exists(dir));
    assertEquals(List.of(SpectralService.CLOSE_TIMEOUT, SpectralService.CLOSE_TIMEOUT), made.get(0).closeTimeouts);
  }

  @Test
  void aStoppedServiceRemovesItsTemporaryStateFolder() {
    service().start();
    Path dir = service.stateDirectory();
    service.close();
    assertFalse(Files.exists(dir));
    assertEquals(1, made.get(0).closeTimeouts.size());
  }

  @Test
  void pinnedSettingsAreRefusedBeforeAStateFolderIsMadeAndTheOthersPassThrough() {
    PinnedSettingException e = assertThrows(PinnedSettingException.class, () -> new SpectralService("127.0.0.1:1",
        Map.of(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE), new SimpleMeterRegistry()));
    assertTrue(e.getMessage().startsWith("processing.guarantee is pinned to exactly_once_v2, got at_least_once: "), e.getMessage());
    e = assertThrows(PinnedSettingException.class, () -> new SpectralService("127.0.0.1:1",
        Map.of(StreamsConfig.consumerPrefix("isolation.level"), "read_uncommitted"), new SimpleMeterRegistry()));
    assertEquals("consumer.isolation.level", e.key());

    List<Properties> given = new ArrayList<>();
    service = new SpectralService("127.0.0.1:1", Map.of(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "1000",
        StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2), new SimpleMeterRegistry(), (t, p) -> {
          given.add(p);
          FakeStreams s = new FakeStreams(t, p);
          made.add(s);
          return s;
        });
    service.start();
    assertEquals(StreamsConfig.EXACTLY_ONCE_V2, given.get(0).get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG));
    assertEquals("1000", given.get(0).get(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG), "an override of a default wins");
    assertEquals(SpectralService.APPLICATION_ID, given.get(0).get(StreamsConfig.APPLICATION_ID_CONFIG));
  }
}
