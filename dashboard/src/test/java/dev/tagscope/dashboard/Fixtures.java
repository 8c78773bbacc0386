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
      List<Double> snr = new ArrayList<>();
      List<Double> corr = new ArrayList<>();
      for (SignalBin b : bins) {
        double a = spectrumValue(f, b.getBin());
        double bl = 0.125 * (f + 1);
        amp.add(a);
        base.add(bl);
        snr.add(a / bl);
        corr.add(a - bl);
      }
      List<Float> spectrum = new ArrayList<>();
      for (int b = 0; b <= W / 2; b++) {
        spectrum.add(spectrumValue(f, b));
      }
      fs.add(FilterResponse.newBuilder().setFilter(f).setAmplitude(amp).setBaseline(base).setSnr(snr)
          .setCorrected(corr).setSpectrum(spectrum).build());
    }
    return TagResponse.newBuilder()
        .setProbeId(probe).setModel(model).setLayer(layer).setImageId(imageId)
        .setWindowStartFrame(120).setWindowFrames(W).setFps(FPS).setBinWidthHz(FPS / W)
        .setSignalBins(bins).setFilters(fs).build();
  }
}
