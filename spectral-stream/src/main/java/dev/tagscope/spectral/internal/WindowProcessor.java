package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.ActivationFrame;
import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.DeadLetters;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import dev.tagscope.spectral.SpectralSettings;
import dev.tagscope.spectral.core.ImportanceMath;
import dev.tagscope.spectral.core.LayerAccumulator;
import dev.tagscope.spectral.core.WindowAnalyzer;
import dev.tagscope.spectral.core.WindowResult;
import io.micrometer.core.instrument.Counter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Buffers activation frames per (probe, layer, image) and analyses each completed window.
 *
 * <p>Windows of an image start at imageFrame {@code 0, hop, 2*hop, ...} while
 * {@code start + W <= framesPerImage}. The frame that completes a window triggers its analysis;
 * a window with a missing frame is skipped and counted, never guessed. Frames no later window
 * needs are deleted; an image's buffer is freed after its last frame, or when the next image of
 * the (probe, layer) starts. Records that cannot be used go to the dead-letter topic with a
 * reason; processing goes on.
 */
public final class WindowProcessor implements Processor<byte[], byte[], byte[], Routed> {
  private static final Logger LOG = LoggerFactory.getLogger(WindowProcessor.class);

  private final String probeStoreName;
  private final String frameStoreName;
  private final String layerStoreName;
  private final Counter frames;
  private final Counter windows;
  private final Counter skipped;
  private final Counter dlq;
  private final Map<String, ProbePlan> plans = new HashMap<>();
  private ProcessorContext<byte[], Routed> context;
  private KeyValueStore<String, byte[]> probes;
  private KeyValueStore<Bytes, byte[]> frameStore;
  private KeyValueStore<String, byte[]> layerStore;

  /**
   * @param settings meters
   * @param probeStoreName global store of raw probe specs
   * @param frameStoreName frame buffer store
   * @param layerStoreName per (probe, layer) state store
   */
  public WindowProcessor(SpectralSettings settings, String probeStoreName, String frameStoreName, String layerStoreName) {
    this.probeStoreName = probeStoreName;
    this.frameStoreName = frameStoreName;
    this.layerStoreName = layerStoreName;
    this.frames = Counter.builder("tagscope.spectral.frames").description("activation records consumed")
        .register(settings.registry());
    this.windows = Counter.builder("tagscope.spectral.windows").description("windows analysed")
        .register(settings.registry());
    this.skipped = Counter.builder("tagscope.spectral.skipped.windows")
        .description("windows not analysed because a frame was missing").register(settings.registry());
    this.dlq = Counter.builder("tagscope.dlq.records").tag("stage", SpectralSettings.STAGE)
        .description("records sent to the dead-letter topic").register(settings.registry());
  }

  @Override
  public void init(ProcessorContext<byte[], Routed> context) {
    this.context = context;
    this.probes = context.getStateStore(probeStoreName);
    this.frameStore = context.getStateStore(frameStoreName);
    this.layerStore = context.getStateStore(layerStoreName);
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    frames.increment();
    if (record.value() == null) {
      dead(record, "empty value: an activation record must carry an ActivationFrame");
      return;
    }
    ActivationFrame frame;
    try {
      frame = Topics.ACTIVATIONS.valueSerde().deserializer().deserialize(Topics.ACTIVATIONS.name(), record.value());
    } catch (RuntimeException e) {
      dead(record, "value is not a readable ActivationFrame (" + e.getMessage() + "); check the producer's serde and schema version");
      return;
    }
    try {
      handle(record, frame);
    } catch (KafkaException e) {
      throw e; // store and producer failures belong to Kafka Streams
    } catch (RuntimeException e) {
      LOG.warn("cannot analyse frame {} of probe {} layer {}", frame.getFrameIndex(), frame.getProbeId(), frame.getLayer(), e);
      dead(record, "cannot analyse this frame: " + e);
    }
  }

  private void handle(Record<byte[], byte[]> record, ActivationFrame frame) {
    String probeId = frame.getProbeId();
    byte[] raw = probes.get(probeId);
    if (raw == null) {
      dead(record, "unknown probe '" + probeId + "': no ProbeSpec on " + Topics.PROBES.name()
          + "; publish the probe before its activations");
      return;
    }
    ProbePlan plan = plans.get(probeId);
    if (plan == null || !Arrays.equals(plan.raw, raw)) {
      plan = ProbePlan.of(probeId, raw);
      plans.put(probeId, plan);
    }
    if (plan.error != null) {
      dead(record, plan.error);
      return;
    }
    List<Float> values = frame.getValues();
    int c = values.size();
    String where = "frameIndex " + frame.getFrameIndex() + " (image '" + frame.getImageId() + "', imageFrame "
        + frame.getImageFrame() + ") of layer '" + frame.getLayer() + "'";
    if (c == 0) {
      dead(record, "no filter values at " + where + "; the layer must give one value per filter");
      return;
    }
    for (int k = 0; k < c; k++) {
      float v = values.get(k);
      if (!Float.isFinite(v)) {
        dead(record, "filter " + k + " is " + v + " at " + where + "; fix the model or its reduction, the spectrum needs finite values");
        return;
      }
    }
    int f = frame.getImageFrame();
    if (f < 0 || f >= plan.framesPerImage) {
      dead(record, "imageFrame " + f + " is outside 0.." + (plan.framesPerImage - 1) + " (framesPerImage of probe '" + probeId + "')");
      return;
    }
    String layerKey = Topics.probeLayerKey(probeId, frame.getLayer());
    byte[] stateBytes = layerStore.get(layerKey);
    FrameKeys.LayerState state = stateBytes == null ? null : FrameKeys.LayerState.decode(stateBytes);
    if (state != null && state.filters() != c) {
      dead(record, "layer '" + frame.getLayer() + "' of probe '" + probeId + "' has " + c + " filters in this frame but "
          + state.filters() + " in earlier frames; one layer must keep its filter count (publish a new probe for a new model)");
      return;
    }
    String imageId = frame.getImageId();
    if (state == null) {
      state = new FrameKeys.LayerState(c, imageId, -1);
    } else if (!state.imageId().equals(imageId) || f < state.lastFrame()) {
      // next image (or the same image shown again): windows of the old one that never completed are skipped
      countSkipped(plan.windowEndsBetween(state.lastFrame(), plan.framesPerImage));
      purge(FrameKeys.prefix(layerKey, state.imageId()));
      state = new FrameKeys.LayerState(c, imageId, -1);
    }
    if (f > state.lastFrame()) {
      // windows whose completing frame was never seen
      countSkipped(plan.windowEndsBetween(state.lastFrame(), f));
      state = new FrameKeys.LayerState(c, imageId, f);
    }
    byte[] prefix = FrameKeys.prefix(layerKey, imageId);
    if (plan.inSomeWindow(f)) {
      frameStore.put(FrameKeys.key(prefix, f), FrameKeys.encode(values));
    }
    if (plan.isWindowEnd(f)) {
      int start = f - plan.windowFrames + 1;
      double[][] series = new double[c][plan.windowFrames];
      int got = 0;
      try (KeyValueIterator<Bytes, byte[]> it = frameStore.range(FrameKeys.key(prefix, start), FrameKeys.key(prefix, f))) {
        while (it.hasNext()) {
          KeyValue<Bytes, byte[]> kv = it.next();
          FrameKeys.decodeInto(kv.value, series, FrameKeys.frameOf(kv.key) - start);
          got++;
        }
      }
      if (got == plan.windowFrames) {
        emit(record, plan, frame, start, series);
      } else {
        skipped.increment();
        LOG.debug("window at imageFrame {} of {} image {} skipped: {} of {} frames", start, layerKey, imageId, got, plan.windowFrames);
      }
      deleteRange(prefix, 0, Math.min(start + plan.hopFrames, plan.framesPerImage) - 1);
    }
    if (f == plan.framesPerImage - 1) {
      purge(prefix);
    }
    layerStore.put(layerKey, state.encode());
  }

  private void emit(Record<byte[], byte[]> record, ProbePlan plan, ActivationFrame frame, int start, double[][] series) {
    WindowResult r = plan.analyzer.analyze(series);
    String model = plan.spec.getModel();
    TagResponse tag = r.toTagResponse(frame.getProbeId(), model, frame.getLayer(), frame.getImageId(), start);
    LayerAccumulator acc = new LayerAccumulator(r.signalBins());
    acc.add(r);
    LayerImportance imp = ImportanceMath.of(model, frame.getLayer(), frame.getProbeId(), record.timestamp(), acc);
    windows.increment();
    context.forward(new Record<>(record.key(), Routed.window(Topics.probeLayerKey(frame.getProbeId(), frame.getLayer()), tag,
        Topics.modelLayerKey(model, frame.getLayer()), imp), record.timestamp(), new RecordHeaders()));
  }

  private void countSkipped(int n) {
    if (n > 0) {
      skipped.increment(n);
    }
  }

  private void purge(byte[] prefix) {
    deleteRange(prefix, 0, Integer.MAX_VALUE);
  }

  private void deleteRange(byte[] prefix, int from, int to) {
    if (to < from) {
      return;
    }
    List<Bytes> keys = new ArrayList<>();
    try (KeyValueIterator<Bytes, byte[]> it = frameStore.range(FrameKeys.key(prefix, from), FrameKeys.key(prefix, to))) {
      while (it.hasNext()) {
        keys.add(it.next().key);
      }
    }
    for (Bytes k : keys) {
      frameStore.delete(k);
    }
  }

  private void dead(Record<byte[], byte[]> record, String reason) {
    RecordMetadata md = context.recordMetadata().orElse(null);
    String topic = md == null ? Topics.ACTIVATIONS.name() : md.topic();
    int partition = md == null ? -1 : md.partition();
    long offset = md == null ? -1 : md.offset();
    DeadLetter letter = DeadLetters.of(SpectralSettings.STAGE, reason, topic, partition, offset, record.key(), record.value());
    dlq.increment();
    LOG.warn("to {}: {} ({}-{}@{})", Topics.DLQ.name(), reason, topic, partition, offset);
    context.forward(new Record<>(record.key(), Routed.deadLetter(record.key(), letter), record.timestamp(),
        DeadLetters.headers(letter)));
  }

  /** A decoded, validated probe with its analyzer; or the reason it cannot be used. */
  static final class ProbePlan {
    final byte[] raw;
    final ProbeSpec spec;
    final WindowAnalyzer analyzer;
    final String error;
    final int windowFrames;
    final int hopFrames;
    final int framesPerImage;
    final int lastWindow;

    private ProbePlan(byte[] raw, ProbeSpec spec, WindowAnalyzer analyzer, String error) {
      this.raw = raw;
      this.spec = spec;
      this.analyzer = analyzer;
      this.error = error;
      this.windowFrames = spec == null ? 0 : spec.getWindowFrames();
      this.hopFrames = spec == null ? 1 : Math.max(1, spec.getHopFrames());
      this.framesPerImage = spec == null ? 0 : spec.getFramesPerImage();
      this.lastWindow = spec == null || framesPerImage < windowFrames ? -1 : (framesPerImage - windowFrames) / hopFrames;
    }

    static ProbePlan of(String probeId, byte[] raw) {
      ProbeSpec spec;
      try {
        spec = Topics.PROBES.valueSerde().deserializer().deserialize(Topics.PROBES.name(), raw);
      } catch (RuntimeException e) {
        return new ProbePlan(raw, null, null, "probe '" + probeId + "' on " + Topics.PROBES.name()
            + " is not a readable ProbeSpec (" + e.getMessage() + "); republish the probe");
      }
      String bad = null;
      if (spec.getHopFrames() < 1) {
        bad = "hopFrames is " + spec.getHopFrames() + ", must be >= 1";
      } else if (spec.getFramesPerImage() < spec.getWindowFrames()) {
        bad = "framesPerImage " + spec.getFramesPerImage() + " is shorter than one window of " + spec.getWindowFrames() + " frames";
      }
      WindowAnalyzer analyzer = null;
      if (bad == null) {
        try {
          analyzer = new WindowAnalyzer(spec.getFps(), spec.getWindowFrames(), spec.getSignalBins(), spec.getBaselineBins(),
              spec.getBaselineSkip());
        } catch (IllegalArgumentException e) {
          bad = e.getMessage();
        }
      }
      if (bad != null) {
        return new ProbePlan(raw, spec, null, "probe '" + probeId + "' cannot be analysed: " + bad + "; republish a valid probe");
      }
      return new ProbePlan(raw, spec, analyzer, null);
    }

    /** Whether imageFrame {@code f} belongs to at least one window. */
    boolean inSomeWindow(int f) {
      if (lastWindow < 0) {
        return false;
      }
      int lo = Math.max(0, Math.floorDiv(f - windowFrames, hopFrames) + 1);
      int hi = Math.min(lastWindow, f / hopFrames);
      return lo <= hi;
    }

    /** Whether imageFrame {@code f} is the last frame of a window. */
    boolean isWindowEnd(int f) {
      int s = f - windowFrames + 1;
      return s >= 0 && s % hopFrames == 0 && s / hopFrames <= lastWindow;
    }

    /** Windows whose last frame {@code e} satisfies {@code from < e < to}. */
    int windowEndsBetween(int from, int to) {
      int n = 0;
      for (int k = 0; k <= lastWindow; k++) {
        int e = k * hopFrames + windowFrames - 1;
        if (e > from && e < to) {
          n++;
        }
      }
      return n;
    }
  }
}
