package dev.tagscope.dashboard;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.ComponentKind;
import dev.tagscope.schemas.CriterionAgreement;
import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.FilterResponse;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.LayerValidation;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.PruningCurve;
import dev.tagscope.schemas.SignalBin;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Manual check only (not a test): an embedded broker fed with plausible synthetic records and a
 * dashboard on 127.0.0.1, for looking at the page in a browser or headless Chromium.
 * Run: {@code java -cp <test classpath> dev.tagscope.dashboard.DashboardDemoMain [port]}; stop with Ctrl-C.
 */
public final class DashboardDemoMain {
  private static final String MODEL = "fmnist-resnet32";
  private static final String PROBE = "demo-halves-6-7.5";

  private DashboardDemoMain() {}

  public static void main(String[] args) throws Exception {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 8088;
    Random rnd = new Random(7);
    EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start();
    broker.createTopics(1);
    List<SignalBin> bins = List.of(
        bin("f1", ComponentKind.FUNDAMENTAL, 6.0, 1), bin("f2", ComponentKind.FUNDAMENTAL, 7.5, 1),
        bin("2f1", ComponentKind.HARMONIC, 12.0, 2), bin("2f2", ComponentKind.HARMONIC, 15.0, 2),
        bin("3f1", ComponentKind.HARMONIC, 18.0, 3), bin("3f2", ComponentKind.HARMONIC, 22.5, 3),
        bin("f2-f1", ComponentKind.INTERMODULATION, 1.5, 2), bin("2f1-f2", ComponentKind.INTERMODULATION, 4.5, 3),
        bin("2f2-f1", ComponentKind.INTERMODULATION, 9.0, 3), bin("f1+f2", ComponentKind.INTERMODULATION, 13.5, 2),
        bin("2f1+f2", ComponentKind.INTERMODULATION, 19.5, 3), bin("f1+2f2", ComponentKind.INTERMODULATION, 21.0, 3));
    ProbeSpec probe = ProbeSpec.newBuilder(Fixtures.probe(PROBE, MODEL)).setSignalBins(bins)
        .setMaxHarmonic(3).setMaxImOrder(3).setLayers(List.of("layer1.0.conv1", "layer2.2.conv2", "layer3.2.conv2")).build();
    Map<String, Integer> layers = new java.util.LinkedHashMap<>();
    layers.put("layer1.0.conv1", 16);
    layers.put("layer2.2.conv2", 32);
    layers.put("layer3.2.conv2", 64);
    layers.put("<script>alert(1)</script>", 4);

    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
        broker.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
      p.send(new ProducerRecord<>(Topics.PROBES.name(), PROBE.getBytes(), Topics.PROBES.valueSerde().serializer().serialize("", probe)));
      Map<String, Long> windows = new java.util.HashMap<>();
      for (Map.Entry<String, Integer> l : layers.entrySet()) {
        publish(p, rnd, bins, l.getKey(), l.getValue(), windows.merge(l.getKey(), 4L, Long::sum));
      }
      publishValidations(p, layers);
      publishVersions(p, rnd);
      p.flush();
      DashboardService d = new DashboardService(broker.bootstrapServers(),
          DashboardSettings.defaults().withPort(port), new SimpleMeterRegistry()).start();
      System.out.println("DASHBOARD " + d.url());
      List<String> names = new ArrayList<>(layers.keySet());
      while (true) {
        Thread.sleep(1000);
        String layer = names.get(rnd.nextInt(names.size() - 1));
        publish(p, rnd, bins, layer, layers.get(layer), windows.merge(layer, 1L, Long::sum));
      }
    }
  }

  /**
   * Two versions of the model on one layer: v1 steady for an hour of 60-s buckets, then v2, whose
   * ranking moves for 20 minutes (an alert is raised) and comes back (cleared); their running
   * importances for the side-by-side view.
   */
  private static void publishVersions(KafkaProducer<byte[], byte[]> p, Random rnd) {
    String layer = "layer2.2.conv2";
    long t0 = (System.currentTimeMillis() / 60_000 - 90) * 60_000;
    StreamsLikeHistory h = new StreamsLikeHistory(MODEL, layer, 60_000, 3, 5, 0.8);
    double[] latest = null;
    for (int b = 0; b < 90; b++) {
      String version = b < 60 ? "v1" : "v2";
      boolean moved = b >= 60 && b < 80;
      double[] s = new double[32];
      for (int i = 0; i < s.length; i++) {
        int place = moved ? (i * 7) % s.length : i;
        s[i] = Math.pow(0.9, place) * (1 + 0.15 * rnd.nextGaussian());
      }
      h.add(version, t0 + b * 60_000L, s);
      if (b == 59 || b == 89) {
        LayerImportance li = Fixtures.scored(MODEL, version, layer, s);
        p.send(new ProducerRecord<>(Topics.IMPORTANCE.name(), Topics.importanceKey(MODEL, version, layer).getBytes(),
            Topics.IMPORTANCE.valueSerde().serializer().serialize("", li)));
      }
      latest = s;
    }
    h.publish(p);
    System.out.println("history: " + h.buckets.size() + " buckets, " + h.alerts.size() + " alerts; latest " + latest.length
        + " filters");
  }

  /**
   * Plausible validations: the tag ranking clearly ahead in the first layer, ahead within the
   * intervals in the second, behind mean activation in the third, and none for the hostile
   * layer name (the panel's "not validated" line). Rho values are {tag, tag-fundamental,
   * mean-activation, weight-l1, class-selectivity, random}, each with a half-width for the interval.
   */
  private static void publishValidations(KafkaProducer<byte[], byte[]> p, Map<String, Integer> layers) {
    double[][] rhos = {
        {0.74, 0.69, 0.41, 0.28, 0.47, 0.03},
        {0.58, 0.52, 0.49, 0.31, Double.NaN, -0.06},
        {0.43, 0.40, 0.51, 0.22, 0.36, 0.02},
    };
    String[] names = {"tag", "tag-fundamental", "mean-activation", "weight-l1", "class-selectivity", "random"};
    int li = 0;
    for (Map.Entry<String, Integer> l : layers.entrySet()) {
      if (li >= rhos.length) {
        break;
      }
      int filters = l.getValue();
      double half = 1.1 / Math.sqrt(filters); // bootstrap intervals narrow as filters grow
      List<CriterionAgreement> criteria = new ArrayList<>();
      List<PruningCurve> curves = new ArrayList<>();
      for (int c = 0; c < names.length; c++) {
        double rho = rhos[li][c];
        criteria.add(CriterionAgreement.newBuilder().setCriterion(names[c]).setRho(rho)
            .setRhoLow(Math.max(-1, rho - half)).setRhoHigh(Math.min(1, rho + half * 0.8))
            .setRhoAccuracy(Double.isNaN(rho) ? Double.NaN : rho * 0.85).build());
        if (c != 1 && c != 4) {
          curves.add(curve(names[c], Double.isNaN(rho) ? 0 : rho, names[c].equals("random")));
        }
      }
      publishValidation(p, l.getKey(), filters, criteria, curves);
      li++;
    }
    List<PruningCurve> network = List.of(curve("tag", 0.6, false), curve("mean-activation", 0.45, false),
        curve("random", 0, true));
    publishValidation(p, "*", 112, List.of(), network);
  }

  private static void publishValidation(KafkaProducer<byte[], byte[]> p, String layer, int filters,
      List<CriterionAgreement> criteria, List<PruningCurve> curves) {
    LayerValidation v = LayerValidation.newBuilder().setModel(MODEL).setLayer(layer)
        .setGeneratedAtMs(System.currentTimeMillis() - 3_600_000L).setImages(1000).setCurveImages(500).setProbeImages(16)
        .setFilters(filters).setBaseAccuracy(0.9277).setBaseCrossEntropy(0.214).setDefaultCriterion("tag")
        .setCriteria(criteria).setPruning(curves).build();
    p.send(new ProducerRecord<>(Topics.VALIDATION.name(), Topics.modelLayerKey(MODEL, layer).getBytes(),
        Topics.VALIDATION.valueSerde().serializer().serialize("", v)));
  }

  /** Accuracy from 0.9277 down to chance (0.1) as filters go; a better criterion holds on longer. */
  private static PruningCurve curve(String criterion, double quality, boolean random) {
    List<Double> fractions = new ArrayList<>();
    List<Double> accuracy = new ArrayList<>();
    List<Double> spread = new ArrayList<>();
    double auc = 0;
    for (int i = 0; i <= 10; i++) {
      double f = i / 10.0;
      double a = 0.1 + (0.9277 - 0.1) * (1 - Math.pow(f, 1 + 3 * Math.max(0, quality)));
      if (i > 0) {
        auc += (accuracy.get(i - 1) + a) / 2 * 0.1;
      }
      fractions.add(f);
      accuracy.add(a);
      if (random) {
        spread.add(0.06 * Math.sin(Math.PI * f));
      }
    }
    return PruningCurve.newBuilder().setCriterion(criterion).setFractions(fractions).setAccuracy(accuracy)
        .setSpread(spread).setAuc(auc).build();
  }

  private static SignalBin bin(String label, ComponentKind kind, double hz, int order) {
    return SignalBin.newBuilder().setLabel(label).setKind(kind).setFrequencyHz(hz).setBin((int) Math.round(hz * 2)).setOrder(order).build();
  }

  private static void publish(KafkaProducer<byte[], byte[]> p, Random rnd, List<SignalBin> bins, String layer, int filters,
      long windowsSeen) {
    List<FilterResponse> fs = new ArrayList<>();
    List<FilterImportance> fi = new ArrayList<>();
    for (int f = 0; f < filters; f++) {
      Random fr = new Random(layer.hashCode() * 31L + f);
      double gain = 0.02 + Math.pow(fr.nextDouble(), 2.5) * 0.4;
      double imShare = fr.nextDouble() * (layer.startsWith("layer3") ? 0.8 : 0.3);
      float[] spec = new float[121];
      for (int b = 1; b < spec.length; b++) {
        spec[b] = (float) (0.003 + 0.004 * rnd.nextDouble() + 0.01 / b);
      }
      for (SignalBin sb : bins) {
        double w = switch (sb.getKind()) {
          case FUNDAMENTAL -> 1.0;
          case HARMONIC -> 0.35 / (sb.getOrder() - 1);
          case INTERMODULATION -> imShare / (sb.getOrder() - 1);
        };
        spec[sb.getBin()] += (float) (gain * w * (0.9 + 0.2 * rnd.nextDouble()));
      }
      List<Double> amp = new ArrayList<>();
      List<Double> base = new ArrayList<>();
      List<Double> snr = new ArrayList<>();
      List<Double> corr = new ArrayList<>();
      double fund = 0;
      double harm = 0;
      double im = 0;
      for (SignalBin sb : bins) {
        double a = spec[sb.getBin()];
        double bl = 0;
        int n = 0;
        for (int k = 2; k <= 11; k++) {
          for (int b : new int[] {sb.getBin() - k, sb.getBin() + k}) {
            if (b > 0 && b < spec.length) {
              bl += spec[b];
              n++;
            }
          }
        }
        bl /= n;
        amp.add(a);
        base.add(bl);
        snr.add(a / bl);
        corr.add(a - bl);
        switch (sb.getKind()) {
          case FUNDAMENTAL -> fund += a - bl;
          case HARMONIC -> harm += a - bl;
          case INTERMODULATION -> im += a - bl;
        }
      }
      List<Float> spectrum = new ArrayList<>();
      for (float v : spec) {
        spectrum.add(v);
      }
      fs.add(FilterResponse.newBuilder().setFilter(f).setAmplitude(amp).setBaseline(base).setSnr(snr).setCorrected(corr)
          .setSpectrum(spectrum).build());
      double meanSnr = snr.stream().mapToDouble(Double::doubleValue).average().orElse(0);
      fi.add(FilterImportance.newBuilder().setFilter(f).setScore(fund + harm + im).setFundamental(fund).setHarmonic(harm)
          .setIntermodulation(im).setMeanSnr(meanSnr).setPaperSnrDb(20 * Math.log10(meanSnr)).setImportance(0).setRank(0).build());
    }
    fi.sort(Comparator.comparingDouble(FilterImportance::getScore).reversed());
    double max = fi.get(0).getScore();
    for (int i = 0; i < fi.size(); i++) {
      fi.get(i).setRank(i + 1);
      fi.get(i).setImportance(fi.get(i).getScore() / max);
    }
    TagResponse r = TagResponse.newBuilder().setProbeId(PROBE).setModel(MODEL).setLayer(layer)
        .setImageId("fashion-mnist-test#" + (windowsSeen % 100)).setWindowStartFrame((int) (windowsSeen % 3) * 120)
        .setWindowFrames(240).setFps(120).setBinWidthHz(0.5).setSignalBins(bins).setFilters(fs).build();
    LayerImportance li = LayerImportance.newBuilder().setModel(MODEL).setLayer(layer).setLastProbeId(PROBE)
        .setUpdatedAtMs(System.currentTimeMillis()).setWindowsSeen(windowsSeen).setFilters(fi).build();
    p.send(new ProducerRecord<>(Topics.TAG_RESPONSES.name(), Topics.probeLayerKey(PROBE, layer).getBytes(),
        Topics.TAG_RESPONSES.valueSerde().serializer().serialize("", r)));
    p.send(new ProducerRecord<>(Topics.IMPORTANCE.name(), Topics.modelLayerKey(MODEL, layer).getBytes(),
        Topics.IMPORTANCE.valueSerde().serializer().serialize("", li)));
  }
}
