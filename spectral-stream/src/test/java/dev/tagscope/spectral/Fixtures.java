package dev.tagscope.spectral;

import dev.tagscope.schemas.ActivationFrame;
import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.Region;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import dev.tagscope.spectral.internal.WindowProcessor;
import dev.tagscope.tagging.SignalCatalogue;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.function.IntFunction;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/** Probes and frames for topology tests. */
final class Fixtures {
  static final double FPS = 120;
  static final long START_MS = 1_700_000_000_000L;

  private Fixtures() {}

  static ProbeSpec probe(String id, String model, int window, int hop, int framesPerImage) {
    double[] f = {6, 7.5};
    return ProbeSpec.newBuilder()
        .setProbeId(id)
        .setModel(model)
        .setStartTimeMs(START_MS)
        .setLayout("halves-lr")
        .setRegions(List.of(
            Region.newBuilder().setName("left").setX0(0).setY0(0).setX1(14).setY1(28).setFrequencyHz(6).setPhaseRad(0).build(),
            Region.newBuilder().setName("right").setX0(14).setY0(0).setX1(28).setY1(28).setFrequencyHz(7.5).setPhaseRad(0).build()))
        .setFps(FPS)
        .setWindowFrames(window)
        .setHopFrames(hop)
        .setFramesPerImage(framesPerImage)
        .setMaxHarmonic(2)
        .setMaxImOrder(2)
        .setSignalBins(SignalCatalogue.build(f, FPS, window, 2, 2))
        .setImageChannels(1).setImageHeight(28).setImageWidth(28)
        .setImageCount(2)
        .build();
  }

  /** Filter 0: 1 + 0.5 sin(6 Hz); filter 1: 2 + 0.2 sin(7.5 Hz) + 0.1 sin(13.5 Hz); filter 2: constant. */
  static IntFunction<List<Float>> threeFilters() {
    return i -> {
      double t = i / FPS;
      return List.of(
          (float) (1 + 0.5 * Math.sin(2 * Math.PI * 6 * t)),
          (float) (2 + 0.2 * Math.sin(2 * Math.PI * 7.5 * t + 0.4) + 0.1 * Math.sin(2 * Math.PI * 13.5 * t)),
          0.25f);
    };
  }

  static ActivationFrame frame(String probe, String image, String layer, long frameIndex, int imageFrame, List<Float> values) {
    return run(probe, image, layer, frameIndex, imageFrame, 1, values);
  }

  /** A record of {@code frames} consecutive frames from {@code frameIndex}/{@code imageFrame}, values {@code [frames, C]}. */
  static ActivationFrame run(String probe, String image, String layer, long frameIndex, int imageFrame, int frames,
                             List<Float> values) {
    return ActivationFrame.newBuilder()
        .setProbeId(probe)
        .setModel("m")
        .setImageId(image)
        .setLayer(layer)
        .setFrameIndex(frameIndex)
        .setImageFrame(imageFrame)
        .setValues(new ArrayList<>(values))
        .setFrames(frames)
        .build();
  }

  /**
   * A test driver over the spectral topology.
   *
   * @param settings meters and plan cache
   * @param analysis the window analysis ({@code WindowAnalyzer::analyze} but in tests of its failures)
   * @param stateDir where the persistent stores live
   */
  static TopologyTestDriver driver(SpectralSettings settings, WindowProcessor.Analysis analysis, Path stateDir) {
    return driver(settings, analysis, stateDir, java.util.Map.of());
  }

  /** As {@link #driver(SpectralSettings, WindowProcessor.Analysis, Path)} with more application settings. */
  static TopologyTestDriver driver(SpectralSettings settings, WindowProcessor.Analysis analysis, Path stateDir,
                                   java.util.Map<String, Object> more) {
    StreamsBuilder b = new StreamsBuilder();
    SpectralTopology.build(b, settings, analysis);
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "spectral-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1");
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    p.putAll(more);
    return new TopologyTestDriver(b.build(), p);
  }

  static TestOutputTopic<String, TagResponse> tagResponses(TopologyTestDriver driver) {
    return driver.createOutputTopic(Topics.TAG_RESPONSES.name(), Topics.TAG_RESPONSES.keySerde().deserializer(),
        Topics.TAG_RESPONSES.valueSerde().deserializer());
  }

  static TestOutputTopic<byte[], DeadLetter> deadLetters(TopologyTestDriver driver) {
    return driver.createOutputTopic(Topics.DLQ.name(), Topics.DLQ.keySerde().deserializer(), Topics.DLQ.valueSerde().deserializer());
  }

  static byte[] bytes(ActivationFrame f) {
    return Topics.ACTIVATIONS.valueSerde().serializer().serialize(Topics.ACTIVATIONS.name(), f);
  }

  static long timestamp(long frameIndex) {
    return START_MS + Math.round(1000.0 * frameIndex / FPS);
  }
}
