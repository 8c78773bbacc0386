package dev.tagscope.tagging.spectral;

import dev.tagscope.schemas.ComponentKind;
import dev.tagscope.schemas.SignalBin;
import dev.tagscope.tagging.AnalysisPlan;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a filter looks: per filter, the baseline-corrected amplitude at each region's fundamental
 * laid out as the regions lie on the image (a {@code [rows][cols]} map), and the pairs of regions
 * whose intermodulation (IM) terms are strongest, i.e. which cells the filter combines (DESIGN.md
 * section 1; the part-based reading of IM after Boremanse, Norcia and Rossion 2013).
 *
 * <p>A region's place comes from its name, as {@code Layout} writes it: {@code r<i>c<j>} (grid,
 * row {@code i}, column {@code j}, 0-based), {@code left}/{@code right} ({@code 1 x 2}),
 * {@code top}/{@code bottom} ({@code 2 x 1}), {@code top-left}, {@code top-right},
 * {@code bottom-left}, {@code bottom-right} ({@code 2 x 2}). Plans whose regions have other names
 * (an offline analysis' {@code region1}, ...) have no map ({@link #layout} is empty).
 *
 * <p>Cell value: the mean over windows of the baseline-corrected amplitude at the fundamental
 * {@code f_r} of the cell's region, in activation units. IM pair strength: the sum of the
 * baseline-corrected amplitudes of every IM term of that pair of regions ({@code n*f_i +/- m*f_j},
 * label {@code "2f3-f7"}), in activation units.
 *
 * @param filter the filter (channel) index
 * @param rows map rows
 * @param cols map columns
 * @param cells {@code [rows][cols]} fundamental amplitude per cell (NaN for a cell with no region)
 * @param imPairs the strongest IM pairs, strongest first, only those whose sum exceeds
 *     {@value #RELATIVE_FLOOR} times the filter's largest corrected amplitude at any signal bin:
 *     the uint8 rounding of the frames leaves about 3e-4 of that at the IM bins of the linear
 *     {@code conv1} (grid:4x4, 4000 frames), which combines nothing
 */
public record SpatialMap(int filter, int rows, int cols, double[][] cells, List<ImPair> imPairs) {
  private static final Pattern GRID = Pattern.compile("r([0-9]+)c([0-9]+)");
  private static final Pattern TERM = Pattern.compile("f([0-9]+)");
  private static final Map<String, int[]> NAMED = Map.of(
      "left", new int[] {0, 0}, "right", new int[] {0, 1},
      "top", new int[] {0, 0}, "bottom", new int[] {1, 0},
      "top-left", new int[] {0, 0}, "top-right", new int[] {0, 1},
      "bottom-left", new int[] {1, 0}, "bottom-right", new int[] {1, 1});

  /** A pair counts when its summed IM amplitude exceeds this fraction of the filter's largest one. */
  public static final double RELATIVE_FLOOR = 0.01;

  /** Strongest IM pairs kept per filter by {@link #of}. */
  public static final int IM_PAIRS = 5;

  /**
   * Two regions combined by a filter.
   *
   * @param first region name of the lower-numbered region
   * @param second region name of the other
   * @param amplitude summed baseline-corrected amplitude of the pair's IM terms, activation units
   */
  public record ImPair(String first, String second, double amplitude) {}

  /**
   * Where each region lies on the map.
   *
   * @param rows map rows
   * @param cols map columns
   * @param cell per region (region order), its {@code {row, col}}
   */
  public record Placement(int rows, int cols, int[][] cell) {}

  /**
   * The placement of a plan's regions, from their names.
   *
   * @param regions the plan's regions, region order
   * @return the placement, or empty when a name is not a layout's region name or two regions share a cell
   */
  public static Optional<Placement> layout(List<AnalysisPlan.RegionInfo> regions) {
    int[][] cell = new int[regions.size()][];
    int rows = 0;
    int cols = 0;
    for (int r = 0; r < regions.size(); r++) {
      String name = regions.get(r).name();
      Matcher m = GRID.matcher(name);
      if (m.matches()) {
        cell[r] = new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
      } else if (NAMED.containsKey(name)) {
        cell[r] = NAMED.get(name).clone();
      } else {
        return Optional.empty();
      }
      rows = Math.max(rows, cell[r][0] + 1);
      cols = Math.max(cols, cell[r][1] + 1);
    }
    if ((long) rows * cols > 1L << 20) {
      return Optional.empty();
    }
    boolean[][] used = new boolean[rows][cols];
    for (int[] c : cell) {
      if (used[c[0]][c[1]]) {
        return Optional.empty();
      }
      used[c[0]][c[1]] = true;
    }
    return Optional.of(new Placement(rows, cols, cell));
  }

  /**
   * The maps of every filter of a layer.
   *
   * @param plan the analysis plan (its regions and signal bins)
   * @param corrected {@code [C][S]} baseline-corrected amplitude per filter and signal bin, e.g.
   *     {@link LayerAccumulator#meanCorrected()} or {@link WindowResult}'s values of one window,
   *     bins in the plan's catalogue order
   * @return one map per filter in filter order, or an empty list when the regions have no
   *     placement ({@link #layout})
   * @throws IllegalArgumentException when a row of {@code corrected} does not have one value per signal bin
   */
  public static List<SpatialMap> of(AnalysisPlan plan, double[][] corrected) {
    Optional<Placement> placement = layout(plan.regions());
    if (placement.isEmpty()) {
      return List.of();
    }
    Placement p = placement.get();
    List<SignalBin> bins = plan.signalBins();
    List<AnalysisPlan.RegionInfo> regions = plan.regions();
    int n = regions.size();
    int[] fundamentalOf = new int[n];
    java.util.Arrays.fill(fundamentalOf, -1);
    // pairOf[s] = {i, j} (0-based regions, i < j) for an IM bin, null otherwise
    int[][] pairOf = new int[bins.size()][];
    for (int s = 0; s < bins.size(); s++) {
      SignalBin b = bins.get(s);
      List<Integer> refs = new ArrayList<>(2);
      Matcher m = TERM.matcher(b.getLabel());
      while (m.find()) {
        refs.add(Integer.parseInt(m.group(1)) - 1);
      }
      if (b.getKind() == ComponentKind.FUNDAMENTAL && refs.size() == 1 && refs.get(0) < n) {
        fundamentalOf[refs.get(0)] = s;
      } else if (b.getKind() == ComponentKind.INTERMODULATION && refs.size() == 2) {
        pairOf[s] = new int[] {Math.min(refs.get(0), refs.get(1)), Math.max(refs.get(0), refs.get(1))};
      }
    }
    List<SpatialMap> out = new ArrayList<>(corrected.length);
    for (int k = 0; k < corrected.length; k++) {
      double[] row = corrected[k];
      if (row.length != bins.size()) {
        throw new IllegalArgumentException("corrected: filter " + k + " has " + row.length + " values for " + bins.size() + " signal bins");
      }
      double[][] cells = new double[p.rows()][p.cols()];
      for (double[] c : cells) {
        java.util.Arrays.fill(c, Double.NaN);
      }
      for (int r = 0; r < n; r++) {
        if (fundamentalOf[r] >= 0) {
          cells[p.cell()[r][0]][p.cell()[r][1]] = row[fundamentalOf[r]];
        }
      }
      double largest = 0;
      for (double v : row) {
        largest = Math.max(largest, v);
      }
      double floor = RELATIVE_FLOOR * largest;
      double[][] pairSum = new double[n][n];
      for (int s = 0; s < bins.size(); s++) {
        if (pairOf[s] != null) {
          pairSum[pairOf[s][0]][pairOf[s][1]] += row[s];
        }
      }
      List<ImPair> pairs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
          if (pairSum[i][j] > floor && pairSum[i][j] > 0) {
            pairs.add(new ImPair(regions.get(i).name(), regions.get(j).name(), pairSum[i][j]));
          }
        }
      }
      pairs.sort(Comparator.comparingDouble(ImPair::amplitude).reversed());
      out.add(new SpatialMap(k, p.rows(), p.cols(), cells, List.copyOf(pairs.subList(0, Math.min(IM_PAIRS, pairs.size())))));
    }
    return out;
  }
}
