package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.ActivationFrame;
import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.DeadLetters;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.Topics;
import dev.tagscope.spectral.SpectralSettings;
import dev.tagscope.tagging.WindowGeometry;
import dev.tagscope.tagging.spectral.ImportanceMath;
import dev.tagscope.tagging.spectral.LayerAccumulator;
import dev.tagscope.tagging.spectral.WindowAnalyzer;
import dev.tagscope.tagging.spectral.WindowResult;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
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
 *
 * <p><b>Order.</b> The stimulus producer numbers frames with {@code frameIndex} counted over the
 * whole probe and {@code imageFrame} counted from 0 within an image, and image ids are unique
 * within a publication of a probe (a continuous probe prefixes them with its cycle,
 * {@code c<cycle>/}), so an image shown again is a new image id starting at imageFrame 0. A frame
 * that comes after a later frame of its (probe, layer) is therefore never a re-shown image: it is
 * late or a duplicate, and it never resets a window. Such a frame is
 * <ul>
 *   <li>buffered, when it is of the current image, not buffered yet, and some window containing
 *       it has not ended yet (it fills a gap; {@code late.frames{outcome=buffered}});
 *   <li>dead-lettered as a duplicate when its imageFrame was already received
 *       ({@code outcome=duplicate}), so a window is never analysed twice;
 *   <li>dead-lettered as late otherwise: every window it belongs to was already analysed or
 *       skipped, or it belongs to an image shown earlier ({@code outcome=expired}).
 * </ul>
 * A probe published again under the same id with a changed spec (a new {@code startTimeMs}, a
 * new model) starts over: the buffer of the earlier publication is dropped and numbering starts
 * afresh. Publishing the identical spec again does not start over: its frames repeat stimulus
 * times already seen and are refused as duplicates or late; use a new probe id or start time.
 *
 * <p><b>Plans.</b> Decoded probe plans are cached per task, at most
 * {@link SpectralSettings#maxCachedPlans()}, least recently used dropped first; a probe removed by
 * a tombstone on the probes topic is dropped when its next activation is refused.
 */
public final class WindowProcessor implements Processor<byte[], byte[], byte[], Routed> {
  /** Counter of activation records consumed. */
  public static final String FRAMES_METER = "tagscope.spectral.frames";
  /** Counter of windows analysed. */
  public static final String WINDOWS_METER = "tagscope.spectral.windows";
  /** Counter of windows not analysed: a frame was missing or the analysis refused them. */
  public static final String SKIPPED_WINDOWS_METER = "tagscope.spectral.skipped.windows";
  /** Counter of frames that came after a later frame of their (probe, layer), tagged {@code outcome}. */
  public static final String LATE_FRAMES_METER = "tagscope.spectral.late.frames";
  /** Counter of probe specs decoded into plans (plan cache misses). */
  public static final String PLAN_LOADS_METER = "tagscope.spectral.plan.loads";
  /** Gauge of decoded probe plans held, tagged {@code task}. */
  public static final String PLANS_CACHED_METER = "tagscope.spectral.plans.cached";

  private static final Logger LOG = LoggerFactory.getLogger(WindowProcessor.class);

  /**
   * Turns one complete window into its result. The topology uses {@link WindowAnalyzer#analyze};
   * this exists so tests can make the core refuse a window and check what the topology does.
   */
  @FunctionalInterface
  public interface Analysis {
    /**
     * @param analyzer the probe's analyzer
     * @param series {@code [C][W]} the window, activation units
     * @return the analysed window
     * @throws IllegalArgumentException when the core refuses the window
     */
    WindowResult analyze(WindowAnalyzer analyzer, double[][] series);
  }

  private final SpectralSettings settings;
  private final String probeStoreName;
  private final String frameStoreName;
  private final String layerStoreName;
  private final Analysis analysis;
  private final Counter frames;
  private final Counter windows;
  private final Counter skipped;
  private final Counter dlq;
  private final Counter lateBuffered;
  private final Counter lateDuplicate;
  private final Counter lateExpired;
  private final Counter planLoads;
  private final Map<String, ResolvedProbe> plans;
  private Gauge plansCached;
  private ProcessorContext<byte[], Routed> context;
  private KeyValueStore<String, byte[]> probes;
  private FrameBuffer buffer;

  /**
   * @param settings meters and the plan cache size
   * @param probeStoreName global store of raw probe specs
   * @param frameStoreName frame buffer store
   * @param layerStoreName per (probe, layer) state store
   */
  public WindowProcessor(SpectralSettings settings, String probeStoreName, String frameStoreName, String layerStoreName) {
    this(settings, probeStoreName, frameStoreName, layerStoreName, WindowAnalyzer::analyze);
  }

  /**
   * @param settings meters and the plan cache size
   * @param probeStoreName global store of raw probe specs
   * @param frameStoreName frame buffer store
   * @param layerStoreName per (probe, layer) state store
   * @param analysis how a complete window is analysed
   */
  public WindowProcessor(SpectralSettings settings, String probeStoreName, String frameStoreName, String layerStoreName,
                         Analysis analysis) {
    this.settings = settings;
    this.probeStoreName = probeStoreName;
    this.frameStoreName = frameStoreName;
    this.layerStoreName = layerStoreName;
    this.analysis = analysis;
    MeterRegistry registry = settings.registry();
    this.frames = Counter.builder(FRAMES_METER).description("activation records consumed").register(registry);
    this.windows = Counter.builder(WINDOWS_METER).description("windows analysed").register(registry);
    this.skipped = Counter.builder(SKIPPED_WINDOWS_METER)
        .description("windows not analysed because a frame was missing or the analysis refused them").register(registry);
    this.dlq = Counter.builder(DeadLetters.RECORDS_METER).tag("stage", SpectralSettings.STAGE)
        .description("records sent to the dead-letter topic").register(registry);
    this.lateBuffered = lateCounter(registry, "buffered");
    this.lateDuplicate = lateCounter(registry, "duplicate");
    this.lateExpired = lateCounter(registry, "expired");
    this.planLoads = Counter.builder(PLAN_LOADS_METER)
        .description("probe specs decoded into plans (plan cache misses)").register(registry);
    int max = settings.maxCachedPlans();
    // Access order + removeEldestEntry = LRU: a campaign of many probes keeps only the recent plans.
    this.plans = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, ResolvedProbe> eldest) {
        return size() > max;
      }
    };
  }

  private static Counter lateCounter(MeterRegistry registry, String outcome) {
    return Counter.builder(LATE_FRAMES_METER).tag("outcome", outcome)
        .description("frames that came after a later frame of their (probe, layer)").register(registry);
  }

  @Override
  public void init(ProcessorContext<byte[], Routed> context) {
    this.context = context;
    this.probes = context.getStateStore(probeStoreName);
    this.buffer = new FrameBuffer(context.getStateStore(frameStoreName), context.getStateStore(layerStoreName));
    // Read from a metrics thread without a lock: a stale size is harmless for a gauge.
    this.plansCached = Gauge.builder(PLANS_CACHED_METER, plans, Map::size)
        .tag("task", context.taskId().toString())
        .description("decoded probe plans held by this stream task").register(settings.registry());
  }

  @Override
  public void close() {
    if (plansCached != null) {
      settings.registry().remove(plansCached);
      plansCached = null;
    }
    plans.clear();
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
      // A tombstone on the compacted probes topic removed it (or it never came): its plan goes too.
      plans.remove(probeId);
      dead(record, "unknown probe '" + probeId + "': no ProbeSpec on " + Topics.PROBES.name()
          + "; publish the probe before its activations");
      return;
    }
    ResolvedProbe plan = plans.get(probeId);
    if (plan == null || !Arrays.equals(plan.raw, raw)) {
      plan = ResolvedProbe.of(probeId, raw);
      planLoads.increment();
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
    WindowGeometry geometry = plan.geometry;
    if (f < 0 || f >= geometry.framesPerImage()) {
      dead(record, "imageFrame " + f + " is outside 0.." + (geometry.framesPerImage() - 1) + " (framesPerImage of probe '" + probeId + "')");
      return;
    }
    String layerKey = Topics.probeLayerKey(probeId, frame.getLayer());
    FrameKeys.LayerState state = buffer.state(layerKey);
    if (state != null && state.spec() != FrameKeys.LayerState.UNKNOWN_SPEC && state.spec() != plan.fingerprint) {
      // The probe was published again under this id with another spec: its frames start again at
      // frameIndex 0 and may use another window or model, so nothing of the earlier one applies.
      LOG.info("probe {} was published again: dropping the buffered frames of image {} of {}", probeId, state.imageId(), layerKey);
      buffer.purge(FrameKeys.prefix(layerKey, state.imageId()));
      state = null;
    }
    if (state != null && state.filters() != c) {
      dead(record, "layer '" + frame.getLayer() + "' of probe '" + probeId + "' has " + c + " filters in this frame but "
          + state.filters() + " in earlier frames; one layer must keep its filter count (publish a new probe for a new model)");
      return;
    }
    String imageId = frame.getImageId();
    long frameIndex = frame.getFrameIndex();
    if (state == null) {
      state = new FrameKeys.LayerState(c, imageId, -1, -1, plan.fingerprint);
    } else if (!state.imageId().equals(imageId)) {
      if (state.lastFrameIndex() >= 0 && frameIndex <= state.lastFrameIndex()) {
        // frameIndex counts over the whole probe: another image at or before the last frame seen was
        // shown earlier, and its buffer is gone; starting it again would throw away the current image.
        lateExpired.increment();
        dead(record, "late frame: " + where + " of probe '" + probeId + "' arrived after frameIndex " + state.lastFrameIndex()
            + " of image '" + state.imageId() + "'; an image shown earlier cannot be analysed any more");
        return;
      }
      // the next image: windows of the old one that never completed are skipped
      countSkipped(geometry.windowEndsBetween(state.lastFrame(), geometry.framesPerImage()));
      buffer.purge(FrameKeys.prefix(layerKey, state.imageId()));
      state = new FrameKeys.LayerState(c, imageId, -1, state.lastFrameIndex(), plan.fingerprint);
    } else if (f <= state.lastFrame()) {
      lateInImage(record, plan, state, layerKey, f, values, where + " of probe '" + probeId + "'");
      return;
    }
    // windows whose completing frame was never seen
    countSkipped(geometry.windowEndsBetween(state.lastFrame(), f));
    state = new FrameKeys.LayerState(c, imageId, f, Math.max(state.lastFrameIndex(), frameIndex), plan.fingerprint);
    byte[] prefix = FrameKeys.prefix(layerKey, imageId);
    if (geometry.inSomeWindow(f)) {
      buffer.put(prefix, f, values);
    }
    if (geometry.isWindowEnd(f)) {
      int w = geometry.windowFrames();
      int start = f - w + 1;
      double[][] series = new double[c][w];
      int got = buffer.read(prefix, start, f, series);
      if (got == w) {
        Routed out = null;
        try {
          out = window(plan, frame, start, series, record.timestamp());
        } catch (IllegalArgumentException e) {
          // The core refused this window: it is lost (counted as skipped), but the buffer and the
          // layer state below still move on, so the next windows of the layer are analysed.
          skipped.increment();
          dead(record, "window at imageFrame " + start + ".." + f + " of image '" + imageId + "' of layer '" + frame.getLayer()
              + "' of probe '" + probeId + "' cannot be analysed: " + e.getMessage());
        }
        if (out != null) {
          windows.increment();
          context.forward(new Record<>(record.key(), out, record.timestamp(), new RecordHeaders()));
        }
      } else {
        skipped.increment();
        LOG.debug("window at imageFrame {} of {} image {} skipped: {} of {} frames", start, layerKey, imageId, got, w);
      }
      buffer.deleteRange(prefix, 0, Math.min(start + geometry.hopFrames(), geometry.framesPerImage()) - 1);
    }
    if (f == geometry.framesPerImage() - 1) {
      buffer.purge(prefix);
    }
    buffer.putState(layerKey, state);
  }

  /**
   * A frame of the current image at or before the highest imageFrame already seen: fills a gap of
   * a window that has not ended yet, or is refused as a duplicate or as too late. The layer state
   * does not move: windows still complete at their own last frame.
   */
  private void lateInImage(Record<byte[], byte[]> record, ResolvedProbe plan, FrameKeys.LayerState state, String layerKey, int f,
                           List<Float> values, String where) {
    byte[] prefix = FrameKeys.prefix(layerKey, state.imageId());
    if (f == state.lastFrame() || buffer.contains(prefix, f)) {
      lateDuplicate.increment();
      dead(record, "duplicate frame: " + where + " was already received; dropped so that no window counts it twice");
      return;
    }
    if (!plan.geometry.inOpenWindow(f, state.lastFrame())) {
      lateExpired.increment();
      dead(record, "late frame: " + where + " arrived after imageFrame " + state.lastFrame()
          + " of its image; every window it belongs to was already analysed or skipped");
      return;
    }
    lateBuffered.increment();
    LOG.debug("late frame {} of {} image {} buffered (last frame {})", f, layerKey, state.imageId(), state.lastFrame());
    buffer.put(prefix, f, values);
  }

  private Routed window(ResolvedProbe plan, ActivationFrame frame, int start, double[][] series, long timestamp) {
    WindowResult r = analysis.analyze(plan.analyzer, series);
    String model = plan.spec.getModel();
    TagResponse tag = r.toTagResponse(frame.getProbeId(), model, frame.getLayer(), frame.getImageId(), start);
    LayerAccumulator acc = new LayerAccumulator(r.signalBins());
    acc.add(r);
    LayerImportance imp = ImportanceMath.of(model, frame.getLayer(), frame.getProbeId(), timestamp, acc);
    return new Routed.Window(Topics.probeLayerKey(frame.getProbeId(), frame.getLayer()), tag, Topics.modelLayerKey(model, frame.getLayer()), imp);
  }

  private void countSkipped(int n) {
    if (n > 0) {
      skipped.increment(n);
    }
  }

  private void dead(Record<byte[], byte[]> record, String reason) {
    RecordMetadata md = context.recordMetadata().orElse(null);
    String topic = md == null ? Topics.ACTIVATIONS.name() : md.topic();
    int partition = md == null ? -1 : md.partition();
    long offset = md == null ? -1 : md.offset();
    DeadLetter letter = DeadLetters.of(SpectralSettings.STAGE, reason, topic, partition, offset, record.key(), record.value());
    dlq.increment();
    LOG.warn("to {}: {} ({}-{}@{})", Topics.DLQ.name(), letter.getError(), topic, partition, offset);
    context.forward(new Record<>(record.key(), new Routed.Dead(record.key(), letter), record.timestamp(),
        DeadLetters.headers(letter)));
  }
}
