package dev.tagscope.dashboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DashboardSettingsTest {

  @Test
  void defaultsAreLoopbackPort8080AndReplay2000() {
    DashboardSettings d = DashboardSettings.defaults();
    assertEquals("127.0.0.1", d.host());
    assertEquals(8080, d.port());
    assertEquals(2000, d.tagResponseReplay());
    assertEquals(Duration.ofSeconds(15), d.keepAlive());
    assertEquals(Map.of(), d.consumerProperties());
  }

  @Test
  void withersChangeOneField() {
    DashboardSettings s = DashboardSettings.defaults().withPort(0).withHost("0.0.0.0").withTagResponseReplay(0)
        .withConsumerProperty("security.protocol", "SSL");
    assertEquals(0, s.port());
    assertEquals("0.0.0.0", s.host());
    assertEquals(0, s.tagResponseReplay());
    assertEquals(Map.of("security.protocol", "SSL"), s.consumerProperties());
  }

  @Test
  void badValuesFailAtOnceNamingTheField() {
    assertMessageStarts("port must be 0..65535", () -> DashboardSettings.defaults().withPort(70000));
    assertMessageStarts("port must be 0..65535", () -> DashboardSettings.defaults().withPort(-1));
    assertMessageStarts("host must be", () -> DashboardSettings.defaults().withHost(" "));
    assertMessageStarts("tagResponseReplay must be >= 0", () -> DashboardSettings.defaults().withTagResponseReplay(-5));
    assertMessageStarts("keepAlive must be a positive duration", () -> DashboardSettings.defaults().withKeepAlive(Duration.ZERO));
    assertMessageStarts("eventCoalescing must be > 0", () -> DashboardSettings.defaults().withEventCoalescing(Duration.ofMinutes(1)));
    assertMessageStarts("consumerProperties may not set 'group.id'",
        () -> DashboardSettings.defaults().withConsumerProperty("group.id", "x"));
    assertMessageStarts("bootstrapServers must be host:port",
        () -> new DashboardService("", DashboardSettings.defaults(), new SimpleMeterRegistry()));
    assertMessageStarts("registry must not be null",
        () -> new DashboardService("localhost:9092", DashboardSettings.defaults(), null));
  }

  @Test
  void pinnedConsumerSettingsGoThroughThePolicy() {
    assertMessageStarts("isolation.level is pinned to read_committed, got read_uncommitted: ",
        () -> DashboardSettings.defaults().withConsumerProperty("isolation.level", "read_uncommitted"));
    assertMessageStarts("enable.auto.commit is pinned to false, got true: ",
        () -> DashboardSettings.defaults().withConsumerProperty("enable.auto.commit", "true"));
    // the pinned value itself changes nothing and is accepted; the dashboard's own keys stay refused
    assertEquals("false", DashboardSettings.defaults().withConsumerProperty("enable.auto.commit", "false")
        .consumerProperties().get("enable.auto.commit"));
    assertMessageStarts("consumerProperties may not set 'key.deserializer'",
        () -> DashboardSettings.defaults().withConsumerProperty("key.deserializer", "x"));
  }

  @Test
  void classNamesAndTheVisualisationsFolder(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    DashboardSettings d = DashboardSettings.defaults();
    assertEquals(java.util.List.of(), d.classes());
    assertEquals(null, d.visualizations());
    DashboardSettings s = d.withClasses(java.util.List.of("a", "b")).withVisualizations(dir);
    assertEquals(java.util.List.of("a", "b"), s.classes());
    assertEquals(dir, s.visualizationsFolder());
    assertEquals(java.util.List.of("a", "b"), s.withPort(0).classes(), "other withers keep them");
    assertEquals(dir, s.withPort(0).visualizations());
    assertMessageStarts("visualizations: " + dir.resolve("absent") + " is not a folder; run ./tagscope visualize",
        () -> d.withVisualizations(dir.resolve("absent")));
    assertMessageStarts("classes: class name 1 is null", () -> d.withClasses(java.util.Arrays.asList("a", null)));
    assertMessageStarts("classes must be a list", () -> d.withClasses(null));
  }

  @Test
  void aPortInUseFailsStartWithAnActionableMessage() throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      DashboardService d = new DashboardService("127.0.0.1:1",
          DashboardSettings.defaults().withPort(taken.getLocalPort()), new SimpleMeterRegistry());
      IllegalStateException e = assertThrows(IllegalStateException.class, d::start);
      assertTrue(e.getMessage().startsWith("cannot serve the dashboard on 127.0.0.1:" + taken.getLocalPort()), e.getMessage());
      assertThrows(IllegalStateException.class, d::start, "a failed service stays closed");
    }
  }

  private static void assertMessageStarts(String prefix, org.junit.jupiter.api.function.Executable ex) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, ex);
    assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
  }

  @Test
  void loopbackBindAddressesTurnOnTheHostCheckAndWildcardsDoNot() {
    for (String h : new String[] {"127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"}) {
      assertTrue(DashboardService.isLoopbackAddress(h), h);
    }
    for (String h : new String[] {"0.0.0.0", "::", "10.1.2.3"}) {
      assertFalse(DashboardService.isLoopbackAddress(h), h);
    }
  }
}
