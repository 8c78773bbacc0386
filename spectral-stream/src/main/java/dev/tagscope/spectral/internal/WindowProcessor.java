package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.ActivationFrame;
import dev.tagscope.schemas.DeadLetter;
import dev.tagscope.schemas.DeadLetterFitter;
import dev.tagscope.schemas.DeadLetters;
import dev.tagscope.schemas.LayerImportance;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.TagResponse;
import dev.tagscope.schemas.TopicSpec;
import dev.tagscope.schemas.TopExamples;
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
import org.apache.kafka.common.serialization.Serializer;
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
 * <p><b>Runs.</b> An activation record carries a run of {@code frames >= 1} consecutive frames of
 * one image ({@code [frames, C]} values, first frame at its {@code frameIndex}/{@code imageFrame},
 * record timestamp the stimulus time of its last frame). Each frame of the run is handled as the
 * rules below say for a frame on its own, so a run gives exactly the windows its frames would give
 * one record each; a window completed inside a run carries its own last frame's stimulus time.
 * Whatever refuses the whole record (unreadable, unknown probe, a non-finite value, frames outside
 * the image, a changed filter count, an image shown earlier) sends it to the dead-letter topic whole
 * and uses none of it. Frames of a run refused one by one (duplicates, too late) are named in one
 * dead letter carrying the whole record's bytes, and the other frames of the run are used; the
 * reason says how many. The frames a run stores go into the buffer as one entry per run
 * ({@link FrameBuffer}).
 *
 * <p><b>Model versions.</b> Each record names the version of the model that produced it
 * ({@code modelVersion}, empty from workers that did not say). A window never mixes versions: a
 * frame of another version than the buffered ones of its image starts a new segment of the image,
 * exactly as the next image would (the current segment's unfinished windows are skipped and
 * counted, and a frame of the earlier version that comes after is late). Tag responses and
 * importance carry the version, and importance is keyed {@code model@version/layer}
 * ({@link Topics#importanceKey}).
 *
 * <p><b>Top examples.</b> Every frame the processor accepts (a frame of a run counts on its own; a
 * duplicate or a frame too late is not accepted, a late frame that fills a gap is) is added to its
 * image segment's running sum ({@link ImageMeans}). A segment ends at its image's last frame
 * ({@code imageFrame = framesPerImage - 1}, so a probe's last image ends with the probe's last
 * frame), or, when that frame never came, when the next segment (the next image, or the next model
 * version) of the (probe, layer) starts; then the per-filter means over its accepted frames go out
 * as one {@link Routed.Examples}, stamped with its last accepted frame's stimulus time, to be folded
 * into the layer's top examples downstream. A probe published again with another spec drops the
 * unfinished sum of its earlier publication.
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
  /** Counter of activation records consumed, readable or not. */
  public static final String RECORDS_METER = "tagscope.spectral.records";
  /** Counter of layer-frames in the readable activation records consumed: a record of {@code T} frames counts {@code T}. */
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
  private final String imageStoreName;
  private final Analysis analysis;
  private final Counter records;
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
  private RecordLimit limit;
  private final Serializer<TagResponse> tagSerializer = Topics.TAG_RESPONSES.valueSerde().serializer();
  private final Serializer<DeadLetter> letterSerializer = Topics.DLQ.valueSerde().serializer();
  private ImageMeans means;

  /**
   * @param settings meters and the plan cache size
   * @param probeStoreName global store of raw probe specs
   * @param frameStoreName frame buffer store
   * @param layerStoreName per (probe, layer) state store
   * @param imageStoreName per (probe, layer) running sum of the current image ({@link ImageMeans})
   */
  public WindowProcessor(SpectralSettings settings, String probeStoreName, String frameStoreName, String layerStoreName,
                         String imageStoreName) {
    this(settings, probeStoreName, frameStoreName, layerStoreName, imageStoreName, WindowAnalyzer::analyze);
  }

  /**
   * @param settings meters and the plan cache size
   * @param probeStoreName global store of raw probe specs
   * @param frameStoreName frame buffer store
   * @param layerStoreName per (probe, layer) state store
   * @param imageStoreName per (probe, layer) running sum of the current image ({@link ImageMeans})
   * @param analysis how a complete window is analysed
   */
  public WindowProcessor(SpectralSettings settings, String probeStoreName, String frameStoreName, String layerStoreName,
                         String imageStoreName, Analysis analysis) {
    this.settings = settings;
    this.probeStoreName = probeStoreName;
    this.frameStoreName = frameStoreName;
    this.layerStoreName = layerStoreName;
    this.imageStoreName = imageStoreName;
    this.analysis = analysis;
    MeterRegistry registry = settings.registry();
    this.records = Counter.builder(RECORDS_METER).description("activation records consumed").register(registry);
    this.frames = Counter.builder(FRAMES_METER).description("layer-frames in the readable activation records consumed")
        .register(registry);
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
    this.limit = RecordLimit.of(context, "spectral-window-processor");
    this.means = new ImageMeans(context.getStateStore(imageStoreName));
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
    records.increment();
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
    frames.increment(Math.max(0, frame.getFrames()));
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
    int runFrames = frame.getFrames();
    if (runFrames < 1) {
      dead(record, "frames is " + runFrames + " at " + where(frame, 0) + "; an activation record carries at least one frame");
      return;
    }
    int length = values.size();
    if (length == 0) {
      dead(record, "no filter values at " + where(frame, 0) + "; the layer must give one value per filter");
      return;
    }
    if (length % runFrames != 0) {
      dead(record, length + " filter values at " + where(frame, 0) + " do not divide into its " + runFrames
          + " frames; values must be [frames, C] row-major");
      return;
    }
    int c = length / runFrames;
    for (int i = 0; i < length; i++) {
      float v = FrameRun.valueAt(values, i);
      if (!Float.isFinite(v)) {
        dead(record, "filter " + (i % c) + " is " + v + " at " + where(frame, i / c)
            + "; fix the model or its reduction, the spectrum needs finite values");
        return;
      }
    }
    int f0 = frame.getImageFrame();
    WindowGeometry geometry = plan.geometry;
    long lastOfRun = (long) f0 + runFrames - 1;
    if (f0 < 0 || lastOfRun >= geometry.framesPerImage()) {
      dead(record, (runFrames == 1 ? "imageFrame " + f0 : "imageFrames " + f0 + ".." + lastOfRun) + " is outside 0.."
          + (geometry.framesPerImage() - 1) + " (framesPerImage of probe '" + probeId + "')");
      return;
    }
    String layerKey = Topics.probeLayerKey(probeId, frame.getLayer());
    FrameKeys.LayerState state = buffer.state(layerKey);
    if (state != null && state.spec() != FrameKeys.LayerState.UNKNOWN_SPEC && state.spec() != plan.fingerprint) {
      // The probe was published again under this id with another spec: its frames start again at
      // frameIndex 0 and may use another window or model, so nothing of the earlier one applies.
      LOG.info("probe {} was published again: dropping the buffered frames of image {} of {}", probeId, state.imageId(), layerKey);
      buffer.purge(FrameKeys.prefix(layerKey, state.imageId()), state.filters());
      means.drop(layerKey);
      state = null;
    }
    if (state != null && state.filters() != c) {
      dead(record, "layer '" + frame.getLayer() + "' of probe '" + probeId + "' has " + c + " filters in this frame but "
          + state.filters() + " in earlier frames; one layer must keep its filter count (publish a new probe for a new model)");
      return;
    }
    // A window never mixes model versions: frames of another version than the buffered ones start
    // a new segment of the image, as a new image would (the partial windows are skipped, counted).
    String imageId = segment(frame);
    long frameIndex = frame.getFrameIndex();
    if (state == null) {
      state = new FrameKeys.LayerState(c, imageId, -1, -1, plan.fingerprint);
    } else if (!state.imageId().equals(imageId)) {
      if (state.lastFrameIndex() >= 0 && frameIndex <= state.lastFrameIndex()) {
        // frameIndex counts over the whole probe: another image at or before the last frame seen was
        // shown earlier, and its buffer is gone; starting it again would throw away the current image.
        lateExpired.increment(runFrames);
        dead(record, "late frame: " + where(frame, 0) + " of probe '" + probeId + "' arrived after frameIndex "
            + state.lastFrameIndex() + " of image '" + state.imageId() + "'; an image shown earlier cannot be analysed any more");
        return;
      }
      // The next image, or the next model version of this one. Windows of the old segment that
      // never completed are skipped: for a new image all that remain; for a new version the ones
      // ending before its first frame, as those that end later are counted when their end comes
      // and finds frames missing.
      boolean sameImage = sameImage(state.imageId(), frame.getImageId());
      int resumeAt = sameImage ? f0 : 0;
      countSkipped(geometry.windowEndsBetween(state.lastFrame(), sameImage ? f0 : geometry.framesPerImage()));
      buffer.purge(FrameKeys.prefix(layerKey, state.imageId()), state.filters());
      emitImage(record, plan, frame, means.end(layerKey)); // its last frame never came (else it ended there)
      state = new FrameKeys.LayerState(c, imageId, resumeAt - 1, state.lastFrameIndex(), plan.fingerprint);
    }
    byte[] prefix = FrameKeys.prefix(layerKey, imageId);
    FrameRun run = new FrameRun(c, runFrames);
    Refusals refused = new Refusals();
    String version = frame.getModelVersion() == null ? "" : frame.getModelVersion();
    ImageMeans.Sum sum = means.current(layerKey, frame.getImageId(), version, c);
    int openedAt = state.lastFrame(); // frames up to here came before this record: late, duplicate or gap fillers
    int lastFrame = state.lastFrame();
    long lastFrameIndex = state.lastFrameIndex();
    for (int t = 0; t < runFrames; t++) {
      int f = f0 + t;
      if (f <= openedAt) {
        // At or before the highest imageFrame already seen: a gap filler, a duplicate or too late.
        // The layer state does not move for it: windows still complete at their own last frame.
        if (f == openedAt || buffer.contains(prefix, f, c)) {
          lateDuplicate.increment();
          flushRun(prefix, run);
          refused.duplicate(f);
        } else if (!geometry.inOpenWindow(f, openedAt)) {
          lateExpired.increment();
          flushRun(prefix, run);
          refused.expired(f);
        } else {
          lateBuffered.increment();
          LOG.debug("late frame {} of {} image {} buffered (last frame {})", f, layerKey, imageId, openedAt);
          addToRun(prefix, run, f, values, t);
          sum.add(values, t, frameTimestamp(record, geometry, frameIndex, runFrames, t));
        }
        continue;
      }
      // windows whose completing frame was never seen
      countSkipped(geometry.windowEndsBetween(lastFrame, f));
      lastFrame = f;
      lastFrameIndex = Math.max(lastFrameIndex, frameIndex + t);
      if (geometry.inSomeWindow(f)) {
        addToRun(prefix, run, f, values, t);
      }
      long timestamp = frameTimestamp(record, geometry, frameIndex, runFrames, t);
      sum.add(values, t, timestamp);
      if (geometry.isWindowEnd(f)) {
        flushRun(prefix, run);
        analyseWindow(record, plan, frame, prefix, f, c, timestamp);
      }
      if (f == geometry.framesPerImage() - 1) {
        run.clear();
        buffer.purge(prefix, c);
        emitImage(record, plan, frame, sum.take());
      }
    }
    flushRun(prefix, run);
    means.save(layerKey, sum);
    buffer.putState(layerKey, new FrameKeys.LayerState(c, imageId, lastFrame, lastFrameIndex, plan.fingerprint));
    if (!refused.isEmpty()) {
      dead(record, refused.reason(runFrames, "image '" + imageId + "' of layer '" + frame.getLayer() + "' of probe '" + probeId + "'",
          openedAt));
    }
  }

  /** Stimulus time of frame {@code t} of a record stamped with its last frame's. */
  private static long frameTimestamp(Record<byte[], byte[]> record, WindowGeometry geometry, long frameIndex, int runFrames, int t) {
    return record.timestamp() - (geometry.stimulusOffsetMs(frameIndex + runFrames - 1) - geometry.stimulusOffsetMs(frameIndex + t));
  }

  /** Sends a completed image's means on to the top examples; nothing when no frame of it was accepted. */
  private void emitImage(Record<byte[], byte[]> record, ResolvedProbe plan, ActivationFrame frame, ImageMeans.Image image) {
    if (image == null) {
      return;
    }
    String model = plan.spec.getModel();
    TopExamples one = TopExamplesMath.ofImage(model, image.version(), frame.getLayer(), settings.topExamples(), frame.getProbeId(),
        image.imageId(), image.frames(), image.means());
    context.forward(new Record<>(record.key(), new Routed.Examples(Topics.importanceKey(model, image.version(), frame.getLayer()), one),
        image.timestamp(), new RecordHeaders()));
  }

  /** Between an image id and the model version in a buffer segment's name. */
  private static final String VERSION_MARK = "#v=";

  /** The image a frame belongs to for buffering: its imageId, and the model version when the worker named one. */
  private static String segment(ActivationFrame frame) {
    String version = frame.getModelVersion();
    return version == null || version.isEmpty() ? frame.getImageId() : frame.getImageId() + VERSION_MARK + version;
  }

  /** Whether a buffer segment is of the image {@code imageId} (of any model version). */
  private static boolean sameImage(String segment, String imageId) {
    return segment.equals(imageId) || segment.startsWith(imageId + VERSION_MARK);
  }

  /** Adds a frame to the run being gathered, storing the run first when the frame does not continue it. */
  private void addToRun(byte[] prefix, FrameRun run, int f, List<Float> values, int row) {
    if (!run.continuesWith(f)) {
      flushRun(prefix, run);
    }
    run.add(f, values, row);
  }

  private void flushRun(byte[] prefix, FrameRun run) {
    buffer.put(prefix, run);
    run.clear();
  }

  /** Reads and analyses the window that ends at imageFrame {@code end}, then frees the frames no later window needs. */
  private void analyseWindow(Record<byte[], byte[]> record, ResolvedProbe plan, ActivationFrame frame, byte[] prefix, int end,
                             int c, long timestamp) {
    WindowGeometry geometry = plan.geometry;
    int w = geometry.windowFrames();
    int start = end - w + 1;
    double[][] series = new double[c][w];
    int got = buffer.read(prefix, start, end, series);
    if (got == w) {
      Routed out = null;
      try {
        out = window(plan, frame, start, series, timestamp);
      } catch (IllegalArgumentException e) {
        // The core refused this window: it is lost (counted as skipped), but the buffer and the
        // layer state still move on, so the next windows of the layer are analysed.
        skipped.increment();
        dead(record, "window at imageFrame " + start + ".." + end + " of image '" + frame.getImageId() + "' of layer '"
            + frame.getLayer() + "' of probe '" + frame.getProbeId() + "' cannot be analysed: " + e.getMessage());
      }
      if (out != null) {
        windows.increment();
        Routed.Window window = (Routed.Window) out;
        if (window.tag() == null) {
          dead(record, "the tag response of the window at imageFrame " + start + ".." + end + " of image '" + frame.getImageId()
              + "' of layer '" + frame.getLayer() + "' of probe '" + frame.getProbeId() + "' is " + window.tagBytes()
              + " bytes, more than the producer's max.request.size of " + limit.maxBytes() + " bytes, so it is not written"
              + " to " + Topics.TAG_RESPONSES.name() + " (the window's importance is). Fix: tap fewer filters (--layers),"
              + " lower the plan's signal bins (maxHarmonic, maxImOrder, fewer regions), or raise the topic's"
              + " max.message.bytes and --kafka producer.max.request.size together (Tagscope creates its topics with "
              + TopicSpec.MAX_MESSAGE_BYTES + ")");
        }
        context.forward(new Record<>(record.key(), out, timestamp, new RecordHeaders()));
      }
    } else {
      skipped.increment();
      LOG.debug("window at imageFrame {} of {} image {} skipped: {} of {} frames", start, frame.getLayer(), frame.getImageId(), got, w);
    }
    buffer.deleteBefore(prefix, Math.min(start + geometry.hopFrames(), geometry.framesPerImage()), c);
  }

  /** Where frame {@code t} of a record is, for a dead-letter reason (built only when one is sent). */
  private static String where(ActivationFrame frame, int t) {
    return "frameIndex " + (frame.getFrameIndex() + t) + " (image '" + frame.getImageId() + "', imageFrame "
        + (frame.getImageFrame() + t) + ") of layer '" + frame.getLayer() + "'";
  }

  private Routed window(ResolvedProbe plan, ActivationFrame frame, int start, double[][] series, long timestamp) {
    WindowResult r = analysis.analyze(plan.analyzer, series);
    String model = plan.spec.getModel();
    String version = frame.getModelVersion() == null ? "" : frame.getModelVersion();
    TagResponse tag = r.toTagResponse(frame.getProbeId(), model, frame.getLayer(), frame.getImageId(), start);
    tag.setModelVersion(version);
    LayerAccumulator acc = new LayerAccumulator(r.signalBins());
    acc.add(r);
    LayerImportance imp = ImportanceMath.of(model, frame.getLayer(), frame.getProbeId(), timestamp, acc);
    imp.setModelVersion(version);
    String tagKey = Topics.probeLayerKey(frame.getProbeId(), frame.getLayer());
    // Serialised here, not at the sink: a tag response larger than the producer takes must become a dead letter
    // before it reaches the producer, whose refusal would abort the exactly-once transaction (Kafka 4.3).
    byte[] tagValue = tagSerializer.serialize(Topics.TAG_RESPONSES.name(), tag);
    return new Routed.Window(tagKey, limit.size(tagKey, tagValue) <= limit.maxBytes() ? tagValue : null, tagValue.length,
        Topics.importanceKey(model, version, frame.getLayer()), imp);
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
    DeadLetter whole = DeadLetters.of(SpectralSettings.STAGE, reason, topic, partition, offset, record.key(), record.value());
    // Cut to what the producer sends: a refused record near the limit, with the reason added, would not fit,
    // and under exactly-once a record the producer refuses aborts the transaction for ever.
    DeadLetterFitter.Fitted fitted = DeadLetterFitter.fit(whole, l -> letterSerializer.serialize(Topics.DLQ.name(), l),
        limit.maxBytes());
    dlq.increment();
    LOG.warn("to {}: {} ({}-{}@{})", Topics.DLQ.name(), fitted.letter().getError(), topic, partition, offset);
    context.forward(new Record<>(fitted.key(), new Routed.Dead(fitted.key(), fitted.letter()), record.timestamp(),
        fitted.headers()));
  }

  /** The frames of one record that were refused as duplicates or as too late, for its one dead letter. */
  private static final class Refusals {
    private final List<Integer> duplicates = new ArrayList<>();
    private final List<Integer> expired = new ArrayList<>();

    void duplicate(int f) {
      duplicates.add(f);
    }

    void expired(int f) {
      expired.add(f);
    }

    boolean isEmpty() {
      return duplicates.isEmpty() && expired.isEmpty();
    }

    /**
     * @param runFrames frames in the record
     * @param context "image 'x' of layer 'y' of probe 'z'"
     * @param lastFrame the highest imageFrame seen before the record
     */
    String reason(int runFrames, String context, int lastFrame) {
      List<String> parts = new ArrayList<>(2);
      if (!duplicates.isEmpty()) {
        boolean one = duplicates.size() == 1;
        parts.add("duplicate frame" + (one ? "" : "s") + ": " + frames(duplicates) + " of " + context
            + (one ? " was" : " were") + " already received; dropped so that no window counts " + (one ? "it" : "them") + " twice");
      }
      if (!expired.isEmpty()) {
        boolean one = expired.size() == 1;
        parts.add("late frame" + (one ? "" : "s") + ": " + frames(expired) + " of " + context + " arrived after imageFrame "
            + lastFrame + " of its image; every window " + (one ? "it belongs" : "they belong") + " to was already analysed or skipped");
      }
      int used = runFrames - duplicates.size() - expired.size();
      return String.join("; ", parts) + (used > 0 ? " (the other " + used + " of this record's " + runFrames + " frames were used)" : "");
    }

    /** "imageFrame 7" or "imageFrames 3..5, 9". */
    private static String frames(List<Integer> fs) {
      StringBuilder b = new StringBuilder(fs.size() == 1 ? "imageFrame " : "imageFrames ");
      for (int i = 0; i < fs.size(); ) {
        int j = i;
        while (j + 1 < fs.size() && fs.get(j + 1) == fs.get(j) + 1) {
          j++;
        }
        b.append(i == 0 ? "" : ", ").append(fs.get(i));
        if (j > i) {
          b.append("..").append(fs.get(j));
        }
        i = j + 1;
      }
      return b.toString();
    }
  }
}
