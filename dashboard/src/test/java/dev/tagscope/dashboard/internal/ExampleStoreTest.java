package dev.tagscope.dashboard.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.dashboard.Fixtures;
import dev.tagscope.schemas.ProbeImage;
import dev.tagscope.schemas.Topics;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The probe-image budget: images named by held top examples stay, the others fit the byte budget, oldest out first. */
class ExampleStoreTest {
  private static final int BYTES = 28 * 28;

  private static ProbeImage img(String id) {
    return Fixtures.probeImage("p", id, 1, 0, 1, 28, 28);
  }

  private static void put(ExampleStore s, String id) {
    s.acceptProbeImage(Topics.probeImageKey("p", id), img(id));
  }

  @Test
  void unreferencedImagesFitTheBudgetOldestDroppedFirst() {
    ExampleStore s = new ExampleStore(2L * BYTES);
    put(s, "a");
    put(s, "b");
    put(s, "c");
    assertEquals(2, s.imagesHeld());
    assertFalse(s.image("p", "a").isPresent(), "the oldest went first");
    assertTrue(s.image("p", "b").isPresent() && s.image("p", "c").isPresent());
  }

  @Test
  void referencedImagesStayOutsideTheBudgetUntilNoLongerNamed() {
    ExampleStore s = new ExampleStore(BYTES);
    put(s, "a");
    // a is named now, so it no longer counts against the budget: b and then c may come in beside it.
    s.acceptTopExamples("k", Fixtures.topExamples("m", "v", "l", "p", 1, 1, List.of("a")));
    put(s, "b");
    put(s, "c");
    assertTrue(s.image("p", "a").isPresent(), "named images are never dropped");
    assertFalse(s.image("p", "b").isPresent(), "b was the oldest unnamed image");
    assertTrue(s.image("p", "c").isPresent());
    // The next set names c instead: a joins the unnamed (the newest), c leaves them; the budget holds one.
    s.acceptTopExamples("k", Fixtures.topExamples("m", "v", "l", "p", 1, 1, List.of("c")));
    assertTrue(s.image("p", "a").isPresent() && s.image("p", "c").isPresent());
    put(s, "d");
    assertFalse(s.image("p", "a").isPresent(), "a, unnamed and older than d, went");
    assertTrue(s.image("p", "c").isPresent() && s.image("p", "d").isPresent());
    // A tombstone of the layer's examples unnames c.
    s.acceptTopExamples("k", null);
    assertTrue(s.topExamples(new LayerId("m", "v", "l")).isEmpty());
    assertEquals(1, s.imagesHeld(), "one unnamed image fits");
  }

  @Test
  void imagesThatCannotBeShownAreRefusedNamingWhy() {
    ExampleStore s = new ExampleStore(BYTES);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> s.acceptProbeImage("p/x", Fixtures.probeImage("p", "x", null, 0, 2, 4, 4)));
    assertTrue(e.getMessage().contains("2 channels"), e.getMessage());
    ProbeImage shortPixels = ProbeImage.newBuilder(Fixtures.probeImage("p", "y", null, 0, 1, 4, 4)).setHeight(5).build();
    e = assertThrows(IllegalArgumentException.class, () -> s.acceptProbeImage("p/y", shortPixels));
    assertTrue(e.getMessage().contains("16 pixel bytes for C*H*W = 1*5*4"), e.getMessage());
    assertEquals(0, s.imagesHeld());
  }

  @Test
  void aRecordOfMoreFiltersOrExamplesThanTheStreamKeepsIsRefused() {
    ExampleStore s = new ExampleStore(BYTES);
    s.acceptTopExamples("k", Fixtures.topExamples("m", "v", "l", "p", 2, ExampleStore.MAX_EXAMPLES, List.of("a")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.acceptTopExamples("k",
        Fixtures.topExamples("m", "v", "l", "p", 1, ExampleStore.MAX_EXAMPLES + 1, List.of("a"))));
    assertTrue(e.getMessage().contains("list 65 examples for filter 0, more than the 64"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> s.acceptTopExamples("k",
        Fixtures.topExamples("m", "v", "l", "p", ExampleStore.MAX_FILTERS + 1, 1, List.of("a"))));
    assertTrue(e.getMessage().contains("list 4097 filters, more than the 4096"), e.getMessage());
    assertEquals(2, s.topExamples(new LayerId("m", "v", "l")).orElseThrow().getFilters().size(), "the held record stays");
  }
}
