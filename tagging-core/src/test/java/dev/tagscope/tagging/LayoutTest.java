package dev.tagscope.tagging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tagscope.tagging.Layout.Rect;
import dev.tagscope.tagging.PlanException;
import java.util.List;
import org.junit.jupiter.api.Test;

class LayoutTest {
  @Test
  void halvesWithOddWidthGiveLeftTheFloor() {
    assertEquals(List.of(new Rect("left", 0, 0, 2, 3), new Rect("right", 2, 0, 5, 3)), Layout.parse("halves-lr").regions(3, 5));
    assertEquals(List.of(new Rect("top", 0, 0, 4, 3), new Rect("bottom", 0, 3, 4, 7)), Layout.parse("HALVES-TB").regions(7, 4));
  }

  @Test
  void quadrantsCoverEveryPixelOnce() {
    List<Rect> q = Layout.parse("quadrants").regions(5, 7);
    assertEquals(List.of("top-left", "top-right", "bottom-left", "bottom-right"), q.stream().map(Rect::name).toList());
    for (int y = 0; y < 5; y++) {
      for (int x = 0; x < 7; x++) {
        int yy = y;
        int xx = x;
        assertEquals(1, q.stream().filter(r -> r.contains(yy, xx)).count(), y + "," + x);
      }
    }
  }

  @Test
  void gridCellsAreEqualAndLeftoversUntagged() {
    Layout g = Layout.parse("grid:2x3");
    assertEquals("grid:2x3", g.spec());
    assertEquals(6, g.regionCount());
    List<Rect> cells = g.regions(5, 7); // cells 2 rows x 2 columns, column 6 and row 4 left over
    assertEquals(new Rect("r0c0", 0, 0, 2, 2), cells.get(0));
    assertEquals(new Rect("r1c2", 4, 2, 6, 4), cells.get(5));
    assertEquals(0, cells.stream().filter(r -> r.contains(0, 6) || r.contains(4, 0)).count());
  }

  @Test
  void badLayoutsAreRefused() {
    assertEquals("layout", assertThrows(PlanException.class, () -> Layout.parse("stripes")).field());
    assertEquals("layout", assertThrows(PlanException.class, () -> Layout.parse("grid:1x1")).field());
    assertEquals("layout", assertThrows(PlanException.class, () -> Layout.parse("grid:2x3").regions(1, 3)).field());
    assertEquals("layout", assertThrows(PlanException.class, () -> Layout.parse(null)).field());
    // More cells than the frame synthesiser's per-pixel region map holds: refused at plan time,
    // not after the probe spec has been published.
    assertEquals("layout", assertThrows(PlanException.class, () -> Layout.parse("grid:12x12")).field());
    assertEquals("layout", assertThrows(PlanException.class, () -> Layout.parse("grid:9999x9999")).field());
    assertEquals(127, Layout.parse("grid:1x127").regionCount());
  }
}
