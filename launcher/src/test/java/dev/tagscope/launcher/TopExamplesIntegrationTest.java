package dev.tagscope.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.producer.Image;
import dev.tagscope.producer.ImageLoader;
import dev.tagscope.producer.ProducerService;
import dev.tagscope.schemas.ProbeImage;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.schemas.StimulusFrame;
import dev.tagscope.schemas.TopExample;
import dev.tagscope.schemas.TopExamples;
import dev.tagscope.schemas.Topics;
import dev.tagscope.service.KafkaClientPolicy;
import dev.tagscope.spectral.SpectralService;
import dev.tagscope.spectral.SpectralSettings;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.testsupport.ProjectFiles;
import dev.tagscope.testsupport.TopicReads;
import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.InferenceWorker;
import dev.tagscope.worker.ModelConfig;
import dev.tagscope.worker.Preprocessor;
import dev.tagscope.worker.WorkerSettings;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Top examples on the in-JVM broker: a short probe of the bundled model (5 images of 80 frames,
 * layers conv1 and layer3.4) through producer, worker and Streams application. The top examples
 * published must equal those computed here by running the model ({@link ActivationModel#run}) on
 * the modulated frames read back from the stimuli topic, and the probe-images topic must hold every
 * image of the probe with its label and its unmodulated pixels.
 */
class TopExamplesIntegrationTest {
  private static final int IMAGES = 5;
  private static final int FRAMES = 80; // window = hop = frames per image: 6 and 7.5 Hz at 120 fps fall on bins
  private static final int K = 3;
  private static final List<String> LAYERS = List.of("conv1", "layer3.4");

  @Test
  void topExamplesEqualThoseOfTheModelRunHereAndEveryProbeImageIsPublished() throws Exception {
    List<Image> images = ImageLoader.builder().limit(IMAGES).build().load(ProjectFiles.samples());
    Image first = images.get(0);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    WorkerSettings settings = WorkerSettings.defaults(ProjectFiles.bundledModel()).withLayers(String.join(",", LAYERS))
        .withIntraOpThreads(1);
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      String bs = broker.bootstrapServers();
      try (Admin admin = Admin.create(KafkaClientPolicy.admin().bootstrapServers(bs).build())) {
        Topics.createAll(admin, 1, (short) 1);
      }
      ProbePlan plan;
      String version;
      try (SpectralService spectral = new SpectralService(bs, Map.of(), SpectralSettings.of(registry).withTopExamples(K));
           InferenceWorker worker = new InferenceWorker(bs, settings, registry)) {
        spectral.start();
        worker.start();
        assertTrue(spectral.awaitRunning(Duration.ofMinutes(2)), "spectral running");
        assertTrue(worker.awaitRunning(Duration.ofMinutes(2)), "worker running");
        plan = ProbePlan.builder().model("fmnist-resnet32").layers(LAYERS).windowFrames(FRAMES).hopFrames(FRAMES)
            .framesPerImage(FRAMES).imageShape(first.channels(), first.height(), first.width()).imageCount(IMAGES).build();
        try (ProducerService producer = ProducerService.builder().bootstrapServers(bs).images(images).plan(plan)
            .registry(registry).build()) {
          producer.run();
        }
        Map<String, TopExamples> got = awaitTopExamples(bs);
        try (ActivationModel model = ActivationModel.load(ModelConfig.of(ProjectFiles.bundledModel()).withLayers(String.join(",", LAYERS))
            .withIntraOpThreads(1))) {
          version = model.version();
          Map<String, Map<String, double[]>> means = meansOfTheModel(model, readFrames(bs, plan.probeId()));
          for (String layer : LAYERS) {
            TopExamples t = got.get(Topics.importanceKey(model.name(), version, layer));
            assertNotNull(t, "top examples of " + layer + ": " + got.keySet());
            assertEquals(IMAGES, t.getImagesSeen(), layer);
            assertEquals(K, t.getK());
            int filters = means.get(layer).values().iterator().next().length;
            assertEquals(filters, t.getFilters().size(), layer);
            for (int c : new int[] {0, 1, filters / 2, filters - 1}) {
              List<TopExample> kept = t.getFilters().get(c).getExamples();
              List<Map.Entry<String, double[]>> want = new ArrayList<>(means.get(layer).entrySet());
              final int fc = c;
              want.sort(Comparator.comparingDouble((Map.Entry<String, double[]> e) -> -e.getValue()[fc]).thenComparing(Map.Entry::getKey));
              assertEquals(K, kept.size(), layer + " filter " + c);
              for (int j = 0; j < K; j++) {
                String at = layer + " filter " + c + " #" + j + ": " + kept;
                double a = want.get(j).getValue()[c];
                assertEquals(want.get(j).getKey(), kept.get(j).getImageId(), at);
                assertEquals(plan.probeId(), kept.get(j).getProbeId(), at);
                assertEquals(FRAMES, kept.get(j).getFrames(), at);
                assertEquals(a, kept.get(j).getActivation(), 1e-5 * Math.max(1, Math.abs(a)), at);
              }
            }
          }
        }
      }
      // every image of the probe, with its label and its unmodulated pixels
      Map<String, ProbeImage> probeImages = new HashMap<>();
      for (ConsumerRecord<String, ProbeImage> r : TopicReads.readCommitted(bs, Topics.PROBE_IMAGES, Duration.ofSeconds(30),
          l -> l.size() >= IMAGES)) {
        probeImages.put(r.key(), r.value());
      }
      assertEquals(IMAGES, probeImages.size(), probeImages.keySet().toString());
      for (Image img : images) {
        ProbeImage pi = probeImages.get(Topics.probeImageKey(plan.probeId(), img.id()));
        assertNotNull(pi, img.id());
        assertNotNull(img.label(), "the samples are labelled");
        assertEquals(img.label(), pi.getLabel(), img.id());
        assertEquals(List.of(1, 28, 28), List.of(pi.getChannels(), pi.getHeight(), pi.getWidth()));
        byte[] px = new byte[pi.getPixels().remaining()];
        pi.getPixels().duplicate().get(px);
        assertArrayEquals(img.pixels(), px, img.id());
      }
    }
  }

  /** The latest top examples of each key, once every tapped layer has folded in every image. */
  private static Map<String, TopExamples> awaitTopExamples(String bs) {
    Map<String, TopExamples> latest = new HashMap<>();
    TopicReads.readCommitted(bs, Topics.TOP_EXAMPLES, Duration.ofMinutes(3), got -> {
      latest.clear();
      got.forEach(r -> latest.put(r.key(), r.value()));
      return latest.size() == LAYERS.size() && latest.values().stream().allMatch(t -> t.getImagesSeen() == IMAGES);
    });
    return latest;
  }

  private static List<StimulusFrame> readFrames(String bs, String probeId) {
    List<StimulusFrame> out = new ArrayList<>();
    for (ConsumerRecord<String, StimulusFrame> r : TopicReads.readCommitted(bs, Topics.STIMULI, Duration.ofSeconds(30),
        l -> l.size() >= IMAGES * FRAMES)) {
      if (r.value().getProbeId().equals(probeId)) {
        out.add(r.value());
      }
    }
    assertEquals(IMAGES * FRAMES, out.size(), "frames read back");
    return out;
  }

  /** Per layer, per image id: the mean over the image's frames of each filter's spatial mean, as the model gives it here. */
  private static Map<String, Map<String, double[]>> meansOfTheModel(ActivationModel model, List<StimulusFrame> frames) {
    Preprocessor pre = new Preprocessor(model.preprocessing());
    int len = pre.inputLength();
    Map<String, Map<String, double[]>> sums = new HashMap<>();
    int batch = 40;
    for (int from = 0; from < frames.size(); from += batch) {
      int n = Math.min(batch, frames.size() - from);
      float[] input = new float[n * len];
      for (int i = 0; i < n; i++) {
        StimulusFrame f = frames.get(from + i);
        ByteBuffer b = f.getPixels().duplicate();
        byte[] px = new byte[b.remaining()];
        b.get(px);
        pre.apply(px, 1, 28, 28, input, i * len);
      }
      Map<String, float[][]> out = model.run(input, n, Reduction.MEAN);
      for (String layer : LAYERS) {
        float[][] v = out.get(layer);
        for (int i = 0; i < n; i++) {
          double[] s = sums.computeIfAbsent(layer, x -> new HashMap<>()).computeIfAbsent(frames.get(from + i).getImageId(),
              x -> new double[v[0].length]);
          for (int c = 0; c < s.length; c++) {
            s[c] += v[i][c] / (double) FRAMES;
          }
        }
      }
    }
    return sums;
  }
}
