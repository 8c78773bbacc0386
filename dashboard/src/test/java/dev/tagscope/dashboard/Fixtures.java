package dev.tagscope.dashboard;

import dev.tagscope.schemas.AlertState;
import dev.tagscope.schemas.BucketFilter;
import dev.tagscope.schemas.ComponentKind;
import dev.tagscope.schemas.CriterionAgreement;
import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.FilterMove;
import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.FilterResponse;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.LayerValidation;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.PruningCurve;
import dev.tagscope.schemas.RankAlert;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.schemas.Region;
import dev.tagscope.schemas.SignalBin;
import dev.tagscope.schemas.TagResponse;
import java.util.ArrayList;
import java.util.List;

/**
 * Records with known values, built with the Avro builders: the default plan of DESIGN.md
 * (left/right halves tagged at 6 and 7.5 Hz, 120 fps, W = 240 frames, so bin = 2 * f).
 */
public final class Fixtures {
  private Fixtures() {}

  public static final double FPS = 120.0;
  public static final int W = 240;

  /** f1, f2, 2f1, f1+f2, f2-f1 at 120 fps and W = 240: bin = f * 240 / 120. */
  public static List<SignalBin> signalBins() {
    return List.of(
        bin("f1", ComponentKind.FUNDAMENTAL, 6.0, 12, 1),
        bin("f2", ComponentKind.FUNDAMENTAL, 7.5, 15, 1),
        bin("2f1", ComponentKind.HARMONIC, 12.0, 24, 2),
        bin("f1+f2", ComponentKind.INTERMODULATION, 13.5, 27, 2),
        bin("f2-f1", ComponentKind.INTERMODULATION, 1.5, 3, 2));
  }

  static SignalBin bin(String label, ComponentKind kind, double hz, int bin, int order) {
    return SignalBin.newBuilder().setLabel(label).setKind(kind).setFrequencyHz(hz).setBin(bin).setOrder(order).build();
  }

  public static ProbeSpec probe(String id, String model) {
    return ProbeSpec.newBuilder()
        .setProbeId(id)
        .setModel(model)
        .setStartTimeMs(1_700_000_000_000L)
        .setLayout("halves-lr")
        .setRegions(List.of(
            Region.newBuilder().setName("left").setX0(0).setY0(0).setX1(14).setY1(28).setFrequencyHz(6.0).setPhaseRad(0.0).build(),
            Region.newBuilder().setName("right").setX0(14).setY0(0).setX1(28).setY1(28).setFrequencyHz(7.5).setPhaseRad(0.5).build()))
        .setFps(FPS)
        .setWindowFrames(W)
        .setHopFrames(120)
        .setFramesPerImage(480)
        .setSignalBins(signalBins())
        .setLayers(List.of("layer1", "layer2"))
        .setReduction(Reduction.MEAN)
        .setImageChannels(1).setImageHeight(28).setImageWidth(28)
        .setImageCount(10)
        .build();
  }

  public static FilterImportance filter(int filter, int rank, double importance, double fund, double harm, double im) {
    return FilterImportance.newBuilder()
        .setFilter(filter).setRank(rank).setImportance(importance)
        .setScore(fund + harm + im).setFundamental(fund).setHarmonic(harm).setIntermodulation(im)
        .setMeanSnr(2.5 + filter).setPaperSnrDb(3.25 + filter)
        .build();
  }

  public static LayerImportance importance(String model, String layer, long windows, List<FilterImportance> filters) {
    return LayerImportance.newBuilder()
        .setModel(model).setLayer(layer).setLastProbeId("probe-1")
        .setUpdatedAtMs(1_700_000_002_000L).setWindowsSeen(windows)
        .setFilters(filters).build();
  }

  /** A running importance of one model version. */
  public static LayerImportance importance(String model, String version, String layer, long windows,
      List<FilterImportance> filters) {
    return LayerImportance.newBuilder(importance(model, layer, windows, filters)).setModelVersion(version).build();
  }

  /**
   * A running importance whose filter {@code i} has score {@code scores[i]}, ranked 1 = highest
   * score (ties: lower index first), importance = score / top score; parts all fundamental.
   */
  public static LayerImportance scored(String model, String version, String layer, double... scores) {
    int[] rank = ranks(scores);
    double top = java.util.Arrays.stream(scores).max().orElse(1);
    List<FilterImportance> fs = new ArrayList<>();
    for (int i = 0; i < scores.length; i++) {
      fs.add(FilterImportance.newBuilder(filter(i, rank[i], scores[i] / top, scores[i], 0, 0))
          .setScore(scores[i]).build());
    }
    return importance(model, version, layer, 10, fs);
  }

  /** Ranks 1 = highest value; ties: lower index first. */
  public static int[] ranks(double[] values) {
    Integer[] order = new Integer[values.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(order, (a, b) -> values[a] != values[b] ? Double.compare(values[b], values[a]) : Integer.compare(a, b));
    int[] rank = new int[values.length];
    for (int r = 0; r < order.length; r++) {
      rank[order[r]] = r + 1;
    }
    return rank;
  }

  /**
   * A history bucket whose filter {@code i} has score {@code scores[i]} (rank and importance as
   * in {@link #scored}); stability fields null (part of the reference) unless {@code rho} is given.
   */
  public static ImportanceBucket bucket(String model, String version, String layer, long startMs, long bucketMs,
      String referenceVersion, Double rho, int topK, Double overlap, double... scores) {
    int[] rank = ranks(scores);
    double top = java.util.Arrays.stream(scores).max().orElse(1);
    List<BucketFilter> fs = new ArrayList<>();
    for (int i = 0; i < scores.length; i++) {
      fs.add(BucketFilter.newBuilder().setFilter(i).setScore(scores[i]).setImportance(scores[i] / top)
          .setRank(rank[i]).build());
    }
    return ImportanceBucket.newBuilder().setModel(model).setModelVersion(version).setLayer(layer)
        .setBucketStartMs(startMs).setBucketMs(bucketMs).setWindowsSeen(4).setFilters(fs)
        .setReferenceVersion(referenceVersion).setRho(rho).setTopK(topK).setTopKOverlap(overlap).build();
  }

  /** An alert with one mover (filter 3: rank 1 in the reference, 4 now). */
  public static RankAlert alert(AlertState state, String model, String version, String layer, long startMs,
      double rho) {
    return RankAlert.newBuilder().setState(state).setModel(model).setModelVersion(version).setReferenceVersion("v1")
        .setLayer(layer).setBucketStartMs(startMs).setBucketMs(60_000).setRho(rho).setThreshold(0.75).setTopK(2)
        .setTopKOverlap(0.5).setMovers(List.of(FilterMove.newBuilder().setFilter(3).setReferenceRank(1).setRank(4)
            .setReferenceImportance(1.0).setImportance(0.25).build()))
        .build();
  }

  /**
   * Spectrum value of filter {@code f} at bin {@code b}: (f + 1) * b / 1024. Dyadic, so it and
   * the derived baseline-corrected amplitudes are exact in float and double alike (Avro 1.12.0
   * rounds array-of-double items to float on decode, AVRO-4108; exact values keep these tests
   * about the dashboard).
   */
  public static float spectrumValue(int f, int b) {
    return b == 0 ? 0f : (float) ((f + 1) * b / 1024.0);
  }

  public static CriterionAgreement criterion(String name, double rho, double low, double high, double rhoAccuracy) {
    return CriterionAgreement.newBuilder().setCriterion(name).setRho(rho).setRhoLow(low).setRhoHigh(high)
        .setRhoAccuracy(rhoAccuracy).build();
  }

  public static PruningCurve curve(String criterion, List<Double> fractions, List<Double> accuracy, List<Double> spread,
      double auc) {
    return PruningCurve.newBuilder().setCriterion(criterion).setFractions(fractions).setAccuracy(accuracy)
        .setSpread(spread).setAuc(auc).build();
  }

  /**
   * A validation of one layer with dyadic values (exact through Avro and JSON): tag rho 0.625
   * [0.5, 0.75], three cheap baselines below it, class-selectivity undefined (NaN, as for a
   * constant criterion), and a tag and a random pruning curve over fractions 0, 1/4 .. 1.
   */
  public static LayerValidation validation(String model, String layer) {
    List<Double> fractions = List.of(0.0, 0.25, 0.5, 0.75, 1.0);
    return LayerValidation.newBuilder()
        .setModel(model).setLayer(layer).setGeneratedAtMs(1_700_000_003_000L)
        .setImages(512).setCurveImages(256).setProbeImages(16).setFilters(32)
        .setBaseAccuracy(0.875).setBaseCrossEntropy(0.375).setDefaultCriterion("tag")
        .setCriteria(List.of(
            criterion("tag", 0.625, 0.5, 0.75, 0.5),
            criterion("mean-activation", 0.25, 0.125, 0.375, 0.1875),
            criterion("weight-l1", 0.125, -0.0625, 0.3125, 0.0625),
            criterion("class-selectivity", Double.NaN, Double.NaN, Double.NaN, Double.NaN),
            criterion("random", -0.03125, -0.25, 0.1875, 0.0)))
        .setPruning(List.of(
            curve("tag", fractions, List.of(0.875, 0.875, 0.75, 0.5, 0.125), List.of(), 0.65625),
            curve("random", fractions, List.of(0.875, 0.75, 0.5, 0.25, 0.125), List.of(0.0, 0.0625, 0.125, 0.0625, 0.0),
                0.5)))
        .build();
  }

  public static TagResponse tagResponse(String probe, String model, String layer, String imageId, int filters) {
    List<SignalBin> bins = signalBins();
    List<FilterResponse> fs = new ArrayList<>();
    for (int f = 0; f < filters; f++) {
      List<Double> amp = new ArrayList<>();
      List<Double> base = new ArrayList<>();
      for (SignalBin b : bins) {
        amp.add((double) spectrumValue(f, b.getBin()));
        base.add(0.125 * (f + 1));
      }
      fs.add(filterResponse(f, amp, base));
    }
    return TagResponse.newBuilder()
        .setProbeId(probe).setModel(model).setLayer(layer).setImageId(imageId)
        .setWindowStartFrame(120).setWindowFrames(W).setFps(FPS).setBinWidthHz(FPS / W)
        .setSignalBins(bins).setFilters(fs).build();
  }

  /** Filter f's response: the given amplitudes and baselines per signal bin, SNR and corrected from them, spectrum {@link #spectrumValue}. */
  static FilterResponse filterResponse(int f, List<Double> amp, List<Double> base) {
    List<Double> snr = new ArrayList<>();
    List<Double> corr = new ArrayList<>();
    for (int i = 0; i < amp.size(); i++) {
      snr.add(amp.get(i) / base.get(i));
      corr.add(amp.get(i) - base.get(i));
    }
    List<Float> spectrum = new ArrayList<>();
    for (int b = 0; b <= W / 2; b++) {
      spectrum.add(spectrumValue(f, b));
    }
    return FilterResponse.newBuilder().setFilter(f).setAmplitude(amp).setBaseline(base).setSnr(snr)
        .setCorrected(corr).setSpectrum(spectrum).build();
  }

  // ------------------------------------------------------------------ the filter view: a 2 x 2 grid probe

  /** Tag frequencies of the 2 x 2 grid's regions r0c0, r0c1, r1c0, r1c1 (f1..f4), Hz: bin = 2 * f at W = 240. */
  public static final double[] GRID_HZ = {6.0, 7.5, 9.0, 10.5};
  /** The grid's region names in region order (as Layout names grid cells). */
  public static final List<String> GRID_REGIONS = List.of("r0c0", "r0c1", "r1c0", "r1c1");

  /** Four fundamentals, one harmonic and three IM terms: two of the pair (f1, f2), one of (f3, f4). */
  public static List<SignalBin> gridSignalBins() {
    return List.of(
        bin("f1", ComponentKind.FUNDAMENTAL, 6.0, 12, 1),
        bin("f2", ComponentKind.FUNDAMENTAL, 7.5, 15, 1),
        bin("f3", ComponentKind.FUNDAMENTAL, 9.0, 18, 1),
        bin("f4", ComponentKind.FUNDAMENTAL, 10.5, 21, 1),
        bin("2f1", ComponentKind.HARMONIC, 12.0, 24, 2),
        bin("f1+f2", ComponentKind.INTERMODULATION, 13.5, 27, 2),
        bin("f2-f1", ComponentKind.INTERMODULATION, 1.5, 3, 2),
        bin("f3+f4", ComponentKind.INTERMODULATION, 19.5, 39, 2));
  }

  /** A probe of a 2 x 2 grid over a 28 x 28 image, the bins of {@link #gridSignalBins()}. */
  public static ProbeSpec gridProbe(String id, String model, String version) {
    List<Region> regions = new ArrayList<>();
    for (int r = 0; r < 4; r++) {
      int row = r / 2;
      int col = r % 2;
      regions.add(Region.newBuilder().setName(GRID_REGIONS.get(r)).setX0(col * 14).setY0(row * 14).setX1(col * 14 + 14)
          .setY1(row * 14 + 14).setFrequencyHz(GRID_HZ[r]).setPhaseRad(0.0).build());
    }
    return ProbeSpec.newBuilder(probe(id, model)).setLayout("grid:2x2").setRegions(regions).setSignalBins(gridSignalBins())
        .setMaxImOrder(2).setModelVersion(version).build();
  }

  /**
   * The corrected amplitude of filter {@code f} at grid signal bin {@code s} of {@link #gridSignalBins()}:
   * fundamentals of region r {@code (f + 1) * (r + 1) / 8}, the harmonic 1/64, the (f1, f2) IM terms 3/4 and 1/4
   * (pair sum 1), the (f3, f4) term {@code (f + 1) / 16}. Dyadic, so exact through Avro (AVRO-4108) and JSON.
   */
  public static double gridCorrected(int f, int s) {
    if (s < 4) {
      return (f + 1) * (s + 1) / 8.0;
    }
    return switch (s) {
      case 4 -> 1 / 64.0;
      case 5 -> 0.75;
      case 6 -> 0.25;
      default -> (f + 1) / 16.0;
    };
  }

  /** A tag response of the grid probe whose corrected amplitudes are {@link #gridCorrected}, baselines 1/8. */
  public static TagResponse gridTagResponse(String probe, String model, String version, String layer, String imageId,
      int filters) {
    List<SignalBin> bins = gridSignalBins();
    List<FilterResponse> fs = new ArrayList<>();
    for (int f = 0; f < filters; f++) {
      List<Double> amp = new ArrayList<>();
      List<Double> base = new ArrayList<>();
      for (int s = 0; s < bins.size(); s++) {
        amp.add(gridCorrected(f, s) + 0.125);
        base.add(0.125);
      }
      fs.add(filterResponse(f, amp, base));
    }
    return TagResponse.newBuilder()
        .setProbeId(probe).setModel(model).setModelVersion(version).setLayer(layer).setImageId(imageId)
        .setWindowStartFrame(0).setWindowFrames(W).setFps(FPS).setBinWidthHz(FPS / W)
        .setSignalBins(bins).setFilters(fs).build();
  }

  /** Pixel {@code (c, y, x)} of {@link #probeImage}: a pattern that differs per channel, row and column. */
  public static int pixel(int seed, int c, int y, int x) {
    return (seed * 37 + c * 101 + y * 9 + x * 5) & 0xFF;
  }

  /** A probe image of {@code c x h x w} uint8 pixels {@link #pixel}, with a label (null: none). */
  public static dev.tagscope.schemas.ProbeImage probeImage(String probe, String imageId, Integer label, int seed, int c, int h,
      int w) {
    byte[] px = new byte[c * h * w];
    for (int ch = 0; ch < c; ch++) {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          px[(ch * h + y) * w + x] = (byte) pixel(seed, ch, y, x);
        }
      }
    }
    return dev.tagscope.schemas.ProbeImage.newBuilder().setProbeId(probe).setImageId(imageId).setLabel(label).setChannels(c)
        .setHeight(h).setWidth(w).setPixels(java.nio.ByteBuffer.wrap(px)).build();
  }

  /**
   * Top examples of a layer: filter f's examples are images {@code imageIds[(f + i) % n]} for i = 0..k-1,
   * activation {@code (f + 1) * (k - i) / 4} (highest first).
   */
  public static dev.tagscope.schemas.TopExamples topExamples(String model, String version, String layer, String probe,
      int filters, int k, List<String> imageIds) {
    List<dev.tagscope.schemas.FilterExamples> fs = new ArrayList<>();
    for (int f = 0; f < filters; f++) {
      List<dev.tagscope.schemas.TopExample> ex = new ArrayList<>();
      for (int i = 0; i < k; i++) {
        ex.add(dev.tagscope.schemas.TopExample.newBuilder().setProbeId(probe).setImageId(imageIds.get((f + i) % imageIds.size()))
            .setActivation(exampleActivation(f, k, i)).setFrames(W).build());
      }
      fs.add(dev.tagscope.schemas.FilterExamples.newBuilder().setFilter(f).setExamples(ex).build());
    }
    return dev.tagscope.schemas.TopExamples.newBuilder().setModel(model).setModelVersion(version).setLayer(layer).setK(k)
        .setImagesSeen(imageIds.size()).setFilters(fs).build();
  }

  /** Activation of filter f's i-th example of k in {@link #topExamples}. */
  public static double exampleActivation(int f, int k, int i) {
    return (f + 1) * (k - i) / 4.0;
  }

  /**
   * Writes a visualisations folder as {@code tagscope visualize} does (the shared contract): one
   * 28 x 28 grey PNG per listed filter (pixel {@code (x * 9 + y) & 0xFF}, plus the filter index),
   * and {@code index.json} naming them; {@code extra} entries are added to the layer's filters as given.
   */
  public static void visualizations(java.nio.file.Path dir, String model, String version, String layer, List<Integer> filters,
      List<java.util.Map<String, Object>> extra) throws java.io.IOException {
    String safe = layer.replaceAll("[^A-Za-z0-9._-]", "_");
    java.nio.file.Files.createDirectories(dir.resolve(safe));
    List<java.util.Map<String, Object>> entries = new ArrayList<>();
    for (int f : filters) {
      java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(28, 28, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
      for (int y = 0; y < 28; y++) {
        for (int x = 0; x < 28; x++) {
          img.getRaster().setSample(x, y, 0, (x * 9 + y + f) & 0xFF);
        }
      }
      String rel = safe + "/filter-" + f + ".png";
      javax.imageio.ImageIO.write(img, "png", dir.resolve(rel).toFile());
      entries.add(new java.util.LinkedHashMap<>(java.util.Map.of("filter", f, "rank", f + 1, "importance", 1.0 / (f + 1),
          "image", rel, "activation", 4.25 + f, "meanSampleActivation", 0.75)));
    }
    entries.addAll(extra);
    java.util.Map<String, Object> index = new java.util.LinkedHashMap<>();
    index.put("format", 1);
    index.put("model", model);
    index.put("modelVersion", version);
    index.put("classes", List.of());
    index.put("method", java.util.Map.of("name", "activation-maximisation", "steps", 256, "seed", 0));
    index.put("importanceSource", "offline probe");
    index.put("layers", List.of(java.util.Map.of("layer", layer, "contactSheet", safe + ".png", "filters", entries)));
    new com.fasterxml.jackson.databind.ObjectMapper().writeValue(dir.resolve("index.json").toFile(), index);
  }
}
