package dev.tagscope.dashboard;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.schemas.ComponentKind;
import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.FilterResponse;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.ProbeSpec;
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
  private static final String MODEL = "fmnist-resnet20";
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
