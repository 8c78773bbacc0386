package dev.tagscope.tagging;

import dev.tagscope.tagging.PlanException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a probe's image is split into tagged regions (DESIGN.md section 1). Regions are
 * rectangles {@code [x0,x1) x [y0,y1)} in pixels of the {@code [C,H,W]} image.
 *
 * <ul>
 *   <li>{@code halves-lr} (default): {@code left} = columns {@code [0, floor(W/2))}, {@code right} =
 *       the rest. With an odd width the right half gets the extra column.</li>
 *   <li>{@code halves-tb}: {@code top} = rows {@code [0, floor(H/2))}, {@code bottom} = the rest.</li>
 *   <li>{@code quadrants}: {@code top-left}, {@code top-right}, {@code bottom-left},
 *       {@code bottom-right}, split at column {@code floor(W/2)} and row {@code floor(H/2)}.</li>
 *   <li>{@code grid:RxC}: R rows by C columns of equal cells {@code floor(H/R)} by
 *       {@code floor(W/C)} pixels, named {@code r<i>c<j>} (0-based) in row-major order. When W is
 *       not a multiple of C (or H of R), the leftover columns at the right (rows at the bottom)
 *       belong to no region: they are shown untagged, unmodulated. At most
 *       {@value #MAX_REGIONS} cells (the frame synthesiser's per-pixel region map).</li>
 * </ul>
 *
 * The halves and quadrants cover every pixel.
 */
public final class Layout {
  private static final Pattern GRID = Pattern.compile("grid:([0-9]{1,4})x([0-9]{1,4})");

  /** Most regions a layout may have: the frame synthesiser keeps a signed byte per pixel. */
  public static final int MAX_REGIONS = 127;

  private final String spec;
  private final int rows;
  private final int cols;
  private final Kind kind;

  private enum Kind { HALVES_LR, HALVES_TB, QUADRANTS, GRID }

  private Layout(String spec, Kind kind, int rows, int cols) {
    this.spec = spec;
    this.kind = kind;
    this.rows = rows;
    this.cols = cols;
  }

  /** The default layout, {@code halves-lr}. */
  public static final Layout HALVES_LR = new Layout("halves-lr", Kind.HALVES_LR, 1, 2);

  /**
   * Parses a layout name.
   *
   * @param spec {@code halves-lr}, {@code halves-tb}, {@code quadrants} or {@code grid:RxC} (case-insensitive)
   * @return the layout
   * @throws PlanException ({@code layout}) for an unknown name, a grid with 0 rows or columns,
   *     fewer than 2 cells or more than {@value #MAX_REGIONS} cells
   */
  public static Layout parse(String spec) {
    String s = spec == null ? "" : spec.trim().toLowerCase(Locale.ROOT);
    switch (s) {
      case "halves-lr": return HALVES_LR;
      case "halves-tb": return new Layout(s, Kind.HALVES_TB, 2, 1);
      case "quadrants": return new Layout(s, Kind.QUADRANTS, 2, 2);
      default:
        Matcher m = GRID.matcher(s);
        if (m.matches()) {
          int r = Integer.parseInt(m.group(1));
          int c = Integer.parseInt(m.group(2));
          if (r < 1 || c < 1 || r * c < 2) {
            throw new PlanException("layout", "grid " + s + " must have at least 1 row, 1 column and 2 cells, e.g. grid:2x3");
          }
          if (r * c > MAX_REGIONS) {
            throw new PlanException("layout", "grid " + s + " has " + (r * c) + " cells but at most " + MAX_REGIONS
                + " regions are supported: choose a coarser grid");
          }
          return new Layout("grid:" + r + "x" + c, Kind.GRID, r, c);
        }
        throw new PlanException("layout", "unknown layout '" + spec + "': use halves-lr, halves-tb, quadrants or grid:RxC (e.g. grid:2x3)");
    }
  }

  /** @return the canonical name, e.g. {@code "grid:2x3"}, as stored in {@code ProbeSpec.layout} */
  public String spec() {
    return spec;
  }

  /** @return number of regions: 2, 2, 4 or R*C */
  public int regionCount() {
    return rows * cols;
  }

  /**
   * A tagged rectangle, pixel bounds {@code [x0,x1) x [y0,y1)}.
   *
   * @param name region name, e.g. {@code "left"} or {@code "r1c2"}
   * @param x0 first column
   * @param y0 first row
   * @param x1 one past the last column
   * @param y1 one past the last row
   */
  public record Rect(String name, int x0, int y0, int x1, int y1) {
    /** @return whether pixel (y, x) lies inside */
    public boolean contains(int y, int x) {
      return x >= x0 && x < x1 && y >= y0 && y < y1;
    }
  }

  /**
   * The regions of an image of the given size, in region order (the order of tag frequencies).
   *
   * @param height H in pixels
   * @param width W in pixels
   * @return {@link #regionCount()} non-empty rectangles
   * @throws PlanException ({@code layout}) when the image is too small for the layout (fewer
   *     pixels than regions along a side)
   */
  public List<Rect> regions(int height, int width) {
    if (height < rows || width < cols) {
      throw new PlanException("layout", spec + " needs an image of at least " + rows + " rows and " + cols + " columns, got "
          + height + "x" + width + ": choose a coarser layout or a larger image size");
    }
    List<Rect> out = new ArrayList<>(regionCount());
    int midX = width / 2;
    int midY = height / 2;
    switch (kind) {
      case HALVES_LR:
        out.add(new Rect("left", 0, 0, midX, height));
        out.add(new Rect("right", midX, 0, width, height));
        break;
      case HALVES_TB:
        out.add(new Rect("top", 0, 0, width, midY));
        out.add(new Rect("bottom", 0, midY, width, height));
        break;
      case QUADRANTS:
        out.add(new Rect("top-left", 0, 0, midX, midY));
        out.add(new Rect("top-right", midX, 0, width, midY));
        out.add(new Rect("bottom-left", 0, midY, midX, height));
        out.add(new Rect("bottom-right", midX, midY, width, height));
        break;
      default:
        int ch = height / rows;
        int cw = width / cols;
        for (int i = 0; i < rows; i++) {
          for (int j = 0; j < cols; j++) {
            out.add(new Rect("r" + i + "c" + j, j * cw, i * ch, (j + 1) * cw, (i + 1) * ch));
          }
        }
    }
    return out;
  }

  @Override
  public String toString() {
    return spec;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Layout l && l.spec.equals(spec);
  }

  @Override
  public int hashCode() {
    return spec.hashCode();
  }
}
