package dev.tagscope.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.producer.Image;
import dev.tagscope.producer.ImageLoader;
import dev.tagscope.producer.LiveTraffic;
import dev.tagscope.producer.ProducerService;
import dev.tagscope.producer.Sampling;
import dev.tagscope.schemas.AlertState;
import dev.tagscope.schemas.FilterMove;
import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.RankAlert;
import dev.tagscope.schemas.Topics;
import dev.tagscope.service.KafkaClientPolicy;
import dev.tagscope.spectral.HistorySettings;
import dev.tagscope.spectral.SpectralService;
import dev.tagscope.spectral.SpectralSettings;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.testsupport.ProjectFiles;
import dev.tagscope.testsupport.TopicReads;
import dev.tagscope.worker.InferenceWorker;
import dev.tagscope.worker.ModelSurgery;
import dev.tagscope.worker.WorkerSettings;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 9's check that monitoring catches what it should, on the in-JVM broker: the bundled model is
 * probed from a requests topic (live traffic, one image requested again and again, so every window
 * of a model version is the same and any change of ranking is the model's); then a damaged
 * deployment, the same model with the four most important filters of {@code conv1} zeroed
 * ({@link ModelSurgery}, built here), takes over by a hot swap of the worker. The undamaged model,
 * probed for as long as the damaged one, raises no alert and keeps rho at 1 against its reference;
 * the damaged one raises one alert for {@code conv1} that names the zeroed filters as the movers.
 */
class MonitoringIntegrationTest {
  @TempDir
  Path tmp;

  private static final String REQUESTS = "deployment.requests";
  private static final String LAYER = "conv1";
  /** Buckets of 4 s of stimulus time: two images of 240 frames at 120 fps, one window each. */
  private static final Duration BUCKET = Duration.ofSeconds(4);
  private static final int PER_PHASE = 12; // images per phase: 6 buckets, 2 of them the reference

  @Test
  void aDamagedDeploymentRaisesOneAlertNamingTheZeroedFiltersAndTheUndamagedModelNone() throws Exception {
    Image image = ImageLoader.builder().limit(1).build().load(ProjectFiles.samples()).get(0);
    Path model = tmp.resolve("fmnist-resnet32.onnx");
    Files.copy(ProjectFiles.bundledModel(), model);
    Files.copy(ProjectFiles.bundledModel().resolveSibling("fmnist-resnet32.json"), tmp.resolve("fmnist-resnet32.json"));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    HistorySettings history = HistorySettings.defaults().withBucket(BUCKET, Duration.ZERO).withReference(2, null)
        .withAlerts(0.8, 4, 8);
    WorkerSettings settings = WorkerSettings.defaults(model).withLayers(LAYER + ",layer3.4").withIntraOpThreads(1);
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      String bs = broker.bootstrapServers();
      try (Admin admin = Admin.create(KafkaClientPolicy.admin().bootstrapServers(bs).build())) {
        Topics.createAll(admin, 1, (short) 1);
        admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(REQUESTS, 1, (short) 1))).all().get();
      }
      try (SpectralService spectral = new SpectralService(bs, Map.of(), SpectralSettings.of(registry).withHistory(history));
           InferenceWorker worker = new InferenceWorker(bs, settings, registry)) {
        spectral.start();
        worker.start();
        spectral.awaitRunning(Duration.ofMinutes(2));
        worker.awaitRunning(Duration.ofMinutes(2));
        ProbePlan.Builder plan = ProbePlan.builder().model("fmnist-resnet32").layers(List.of(LAYER, "layer3.4"))
            .imageShape(image.channels(), image.height(), image.width());
        try (ProducerService producer = ProducerService.builder().bootstrapServers(bs)
            .producerConfig(Map.of("auto.offset.reset", "earliest"))
            .liveTraffic(LiveTraffic.of(REQUESTS, Sampling.every(1))).plan(plan).registry(registry).build()) {
          producer.start();
          producer.awaitRunning(Duration.ofMinutes(2));

          // Phase 1: the undamaged model, for as long as the damaged one runs after it.
          RequestFeeder.feed(bs, Map.of(), REQUESTS, java.util.Collections.nCopies(PER_PHASE, image));
          List<ImportanceBucket> undamaged = awaitBuckets(bs, 4, b -> b.getLayer().equals(LAYER));
          LayerImportance running = latestImportance(bs, LAYER);
          int[] top = Damage.topFilters(running, 4);
          String before = running.getModelVersion();

          // Phase 2: the damaged deployment takes over between two transactions.
          Path damaged = tmp.resolve("damaged.onnx");
          ModelSurgery.zeroFilters(model, LAYER, top, damaged, "damaged-top4");
          long swapped = System.nanoTime();
          assertEquals("damaged-top4", worker.swapModel(damaged).get(2, TimeUnit.MINUTES));
          RequestFeeder.feed(bs, Map.of(), REQUESTS, java.util.Collections.nCopies(PER_PHASE, image));
          List<RankAlert> alerts = awaitAlerts(bs, LAYER);
          double secondsToAlert = (System.nanoTime() - swapped) / 1e9;

          // No alert while the model was undamaged, rho 1 against its own reference
          List<ImportanceBucket> compared = undamaged.stream().filter(b -> b.getLayer().equals(LAYER) && b.getRho() != null).toList();
          assertFalse(compared.isEmpty(), "undamaged buckets compared with the reference: " + undamaged);
          for (ImportanceBucket b : compared) {
            assertTrue(b.getRho() >= 0.99, "the same image, the same model: the same ranking, rho " + b.getRho());
            assertEquals(before, b.getModelVersion());
          }
          RankAlert alert = alerts.stream().filter(a -> a.getLayer().equals(LAYER)).findFirst().orElseThrow(
              () -> new AssertionError("no alert for " + LAYER + ": " + alerts));
          assertEquals(AlertState.RAISED, alert.getState());
          assertEquals("damaged-top4", alert.getModelVersion());
          assertEquals(before, alert.getReferenceVersion());
          assertTrue(alert.getRho() < 0.8, "rho " + alert.getRho());
          Set<Integer> movers = alert.getMovers().stream().limit(4).map(FilterMove::getFilter).collect(Collectors.toSet());
          assertEquals(java.util.Arrays.stream(top).boxed().collect(Collectors.toSet()), movers,
              "the zeroed filters moved most: " + alert.getMovers());
          for (FilterMove m : alert.getMovers().subList(0, 4)) {
            assertEquals(0.0, m.getImportance(), 1e-12, "a zeroed filter answers nothing: " + m);
          }
          // one alert per episode: the later damaged buckets stay below the threshold without a second one
          List<ImportanceBucket> after = awaitBuckets(bs, 2,
              b -> b.getLayer().equals(LAYER) && b.getModelVersion().equals("damaged-top4") && b.getRho() != null);
          assertTrue(after.stream().allMatch(b -> b.getRho() < 0.8), "damaged buckets: " + after);
          long raised = readAll(bs, Topics.ALERTS.name()).stream().map(r -> decodeAlert(r))
              .filter(a -> a.getLayer().equals(LAYER) && a.getState() == AlertState.RAISED).count();
          assertEquals(1, raised, "raised once for the episode");
          assertTrue(readAll(bs, Topics.ALERTS.name()).stream().map(r -> decodeAlert(r))
              .allMatch(a -> a.getModelVersion().equals("damaged-top4")), "no alert of the undamaged model, in any layer");
          System.out.printf("monitoring: alert %.1f s after the swap; rho before %s, at the alert %.3f%n", secondsToAlert,
              compared.stream().map(ImportanceBucket::getRho).toList(), alert.getRho());
        }
      }
    }
  }

  private static List<ConsumerRecord<byte[], byte[]>> readAll(String bs, String topic) {
    return TopicReads.readBytes(bs, topic, true, Duration.ofSeconds(5), got -> false);
  }

  private static RankAlert decodeAlert(ConsumerRecord<byte[], byte[]> r) {
    return Topics.ALERTS.valueSerde().deserializer().deserialize(Topics.ALERTS.name(), r.value());
  }

  /** History buckets (committed), once at least {@code n} match. */
  private static List<ImportanceBucket> awaitBuckets(String bs, int n, java.util.function.Predicate<ImportanceBucket> which) {
    String t = Topics.IMPORTANCE_HISTORY.name();
    List<ImportanceBucket> out = new ArrayList<>();
    TopicReads.readBytes(bs, t, true, Duration.ofMinutes(3), got -> {
      out.clear();
      got.forEach(r -> out.add(Topics.IMPORTANCE_HISTORY.valueSerde().deserializer().deserialize(t, r.value())));
      return out.stream().filter(which).count() >= n;
    });
    List<ImportanceBucket> matching = out.stream().filter(which).toList();
    assertTrue(matching.size() >= n, "only " + matching.size() + " of " + n + " buckets: " + out);
    return matching;
  }

  /** Alerts (committed), once one for {@code layer} is there. */
  private static List<RankAlert> awaitAlerts(String bs, String layer) {
    List<RankAlert> out = new ArrayList<>();
    TopicReads.readBytes(bs, Topics.ALERTS.name(), true, Duration.ofMinutes(3), got -> {
      out.clear();
      got.forEach(r -> out.add(decodeAlert(r)));
      return out.stream().anyMatch(a -> a.getLayer().equals(layer));
    });
    return out;
  }

  private static LayerImportance latestImportance(String bs, String layer) {
    String t = Topics.IMPORTANCE.name();
    Map<String, LayerImportance> latest = new LinkedHashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : readAll(bs, t)) {
      LayerImportance li = Topics.IMPORTANCE.valueSerde().deserializer().deserialize(t, r.value());
      if (li.getLayer().equals(layer)) {
        latest.put(li.getModelVersion(), li);
      }
    }
    assertEquals(1, latest.size(), "one version so far: " + latest.keySet());
    return latest.values().iterator().next();
  }
}
