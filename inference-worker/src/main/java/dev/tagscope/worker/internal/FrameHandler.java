package dev.tagscope.worker.internal;

import dev.tagscope.schemas.ActivationFrame;
import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.schemas.StimulusFrame;
import dev.tagscope.schemas.Topics;
import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.LayerInfo;
import dev.tagscope.worker.Preprocessor;
import dev.tagscope.worker.TappedLayer;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.avro.generic.PrimitivesArrays;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the inference worker does with one poll batch of {@code tagscope.stimuli} records, inside
 * the transaction the worker's loop opened: it turns valid frames into {@link ActivationFrame}s on
 * {@code tagscope.activations} and each refused record into a dead letter, and knows nothing of
 * begin, commit or abort. The frames of one model run that are consecutive frames of one image
 * (same probe and image, frameIndex and imageFrame each one up) go out as one record per tapped
 * layer carrying the whole run ({@code frames} of them, values {@code [frames, C]}, timestamp the
 * stimulus time of the run's last frame): a batch of 32 frames of one image is 16 records for 16
 * taps, not 512, which is what makes the broker and the spectral stream cheap (issue 8). A run is
 * never longer than {@code batchSize}, so {@code batchSize = 1} gives one frame per record.
 *
 * <p>Per record: decode the {@link StimulusFrame}; resolve its probe's plan (the {@link ProbeSpec}
 * and the taps it asks for, re-read from {@code tagscope.probes} once per batch for an unknown
 * probe); skip a probe of another model (a worker of that model answers it), and a probe pinned to
 * another version of this model ({@code ProbeSpec.modelVersion}; a worker of that version answers
 * it); refuse, through the
 * {@link DeadLetterSink}, a record that cannot be decoded, an unknown probe, a layer this worker does
 * not tap, a frame whose {@code channels*height*width} does not match its pixels or the probe's
 * image size, or channels the model cannot take. Valid frames are batched ({@code batchSize} at
 * most, grouped by reduction, one {@link ActivationModel#run} per group); a batch whose run fails
 * is run again frame by frame, so only the frame that fails becomes a dead letter.
 *
 * <p>Every record carries the model's name and version ({@link ActivationModel#version()}); a
 * handler serves one model instance, and the worker makes a new handler when it swaps the model.
 *
 * <p>Meters, counted only once the transaction commits (see {@link #handle}): {@value #FRAMES},
 * {@value #ACTIVATIONS}, {@value #FRAMES_SKIPPED}{@code {reason=other-model}} and
 * {@code {reason=other-version}}; the timer
 * {@value #INFERENCE} per model run, committed or not. Not thread-safe: used by the worker's poll
 * thread.
 */
public final class FrameHandler {
  /** Counter of stimulus frames turned into activations (committed). */
  public static final String FRAMES = "tagscope.worker.frames";
  /** Counter of activation records written, one per tapped layer per run of consecutive frames of one image (committed). */
  public static final String ACTIVATIONS = "tagscope.worker.activations";
  /** Counter of frames skipped, tagged {@code reason}: {@code other-model} or {@code other-version} (committed). */
  public static final String FRAMES_SKIPPED = "tagscope.worker.frames.skipped";
  /** Timer of one model run over a batch of frames. */
  public static final String INFERENCE = "tagscope.worker.inference";

  private static final Logger log = LoggerFactory.getLogger(FrameHandler.class);

  private final ActivationModel model;
  private final Preprocessor preprocessor;
  private final Producer<byte[], byte[]> producer;
  private final ProbeCache probes;
  private final DeadLetterSink deadLetters;
  private final int batchSize;

  /** Schema of {@link ActivationFrame#getValues()}, for building it as primitive floats. */
  private static final org.apache.avro.Schema VALUES_SCHEMA = ActivationFrame.getClassSchema().getField("values").schema();

  private final Deserializer<StimulusFrame> frameDecoder = Topics.STIMULI.valueSerde().deserializer();
  private final Serializer<String> activationKeys = Topics.ACTIVATIONS.keySerde().serializer();
  private final Serializer<ActivationFrame> activationValues = Topics.ACTIVATIONS.valueSerde().serializer();

  private final Counter framesCounter;
  private final Counter activationsCounter;
  private final Counter otherModelCounter;
  private final Counter otherVersionCounter;
  private final Timer inferenceTimer;
  private final Set<String> otherModelProbesLogged = new HashSet<>();
  private final Set<String> otherVersionProbesLogged = new HashSet<>();
  private final Map<String, Plan> plans = new HashMap<>();

  /**
   * Registers the meters named in the class docs.
   *
   * @param model the model to run; its name tells this worker's probes from another model's, its
   *     version a probe pinned to this version from one pinned to another
   * @param producer the transactional producer the activations go through (not closed here)
   * @param probes the probe specs, refreshed here for an unknown probe (not closed here)
   * @param deadLetters where refused records go
   * @param batchSize most frames per model run, at least 1
   * @param registry where the meters are registered
   */
  public FrameHandler(ActivationModel model, Producer<byte[], byte[]> producer, ProbeCache probes,
                      DeadLetterSink deadLetters, int batchSize, MeterRegistry registry) {
    this.model = Objects.requireNonNull(model, "model");
    this.preprocessor = new Preprocessor(model.preprocessing());
    this.producer = Objects.requireNonNull(producer, "producer");
    this.probes = Objects.requireNonNull(probes, "probes");
    this.deadLetters = Objects.requireNonNull(deadLetters, "deadLetters");
    this.batchSize = batchSize;
    this.framesCounter = Counter.builder(FRAMES)
        .description("Stimulus frames turned into activations (committed)").register(registry);
    this.activationsCounter = Counter.builder(ACTIVATIONS)
        .description("Activation records written (one per tapped layer per run of frames, committed)").register(registry);
    this.otherModelCounter = Counter.builder(FRAMES_SKIPPED).tag("reason", "other-model")
        .description("Frames of probes for another model, left to that model's workers (committed)").register(registry);
    this.otherVersionCounter = Counter.builder(FRAMES_SKIPPED).tag("reason", "other-version")
        .description("Frames of probes pinned to another version of the model, left to that version's workers (committed)")
        .register(registry);
    this.inferenceTimer = Timer.builder(INFERENCE)
        .description("One model run over a batch of frames").register(registry);
  }

  /** A valid frame waiting for its batch. */
  private record Pending(ConsumerRecord<byte[], byte[]> record, StimulusFrame frame, byte[] pixels, Plan plan) {}

  /** A probe as this worker serves it: its spec and the taps it wants, or why it cannot. */
  private record Plan(ProbeSpec spec, List<TappedLayer> layers, String error) {}

  /** What one batch sent, counted in the meters once its transaction commits. */
  private static final class Tally {
    long frames;
    long activations;
    long deadLetters;
    long otherModel;
    long otherVersion;
  }

  /**
   * Sends the activations and dead letters of one poll batch through the producer, inside the
   * transaction open on it. A record that trips an unexpected error becomes a dead letter; processing
   * goes on.
   *
   * @param records the poll batch of {@code tagscope.stimuli}, byte-array key and value
   * @return what counts this batch in the meters; run it once the transaction has committed, drop it
   *     when the transaction aborts
   * @throws KafkaException when the producer or the probe reader fails: the transaction is then to
   *     be aborted and the batch retried
   */
  public Runnable handle(ConsumerRecords<byte[], byte[]> records) {
    Tally tally = new Tally();
    Set<String> refreshed = new HashSet<>();
    List<Pending> batch = new ArrayList<>(batchSize);
    for (ConsumerRecord<byte[], byte[]> r : records) {
      Pending p;
      try {
        p = validate(r, refreshed, tally);
      } catch (KafkaException e) {
        throw e; // the producer or the probe reader failed: abort the transaction
      } catch (RuntimeException e) { // a frame that trips an unexpected error must not stop the stream
        log.warn("unexpected error on {}-{}@{}", r.topic(), r.partition(), r.offset(), e);
        deadLetter(r, "unexpected error: " + e, tally);
        continue;
      }
      if (p == null) {
        continue;
      }
      batch.add(p);
      if (batch.size() == batchSize) {
        flush(batch, tally);
        batch.clear();
      }
    }
    if (!batch.isEmpty()) {
      flush(batch, tally);
    }
    return () -> {
      framesCounter.increment(tally.frames);
      activationsCounter.increment(tally.activations);
      deadLetters.committed(tally.deadLetters);
      otherModelCounter.increment(tally.otherModel);
      otherVersionCounter.increment(tally.otherVersion);
    };
  }

  /** Decodes and checks one record; sends a dead letter and returns null when it is refused. */
  private Pending validate(ConsumerRecord<byte[], byte[]> r, Set<String> refreshed, Tally tally) {
    if (r.value() == null) {
      deadLetter(r, "null value: a stimulus frame was expected", tally);
      return null;
    }
    StimulusFrame f;
    try {
      f = frameDecoder.deserialize(r.topic(), r.value());
    } catch (SerializationException e) {
      deadLetter(r, e.getMessage(), tally);
      return null;
    }
    String probeId = f.getProbeId();
    Plan plan = plan(probeId, refreshed);
    if (plan == null) {
      deadLetter(r, "unknown probe '" + probeId + "': no ProbeSpec with this probeId on " + Topics.PROBES.name()
          + "; publish the probe before its frames", tally);
      return null;
    }
    if (!plan.spec.getModel().equals(model.name())) {
      // Not bad input: the probe is for a worker of another model, in another consumer group.
      if (otherModelProbesLogged.add(probeId)) {
        log.info("probe {} is for model '{}'; this worker runs '{}' and skips its frames (a worker of '{}' answers them)",
            probeId, plan.spec.getModel(), model.name(), plan.spec.getModel());
      }
      tally.otherModel++;
      return null;
    }
    String pinned = plan.spec.getModelVersion();
    if (pinned != null && !pinned.equals(model.version())) {
      // Not bad input either: the probe asks for another version of this model.
      if (otherVersionProbesLogged.add(probeId)) {
        log.info("probe {} is pinned to version {} of model '{}'; this worker runs version {} and skips its frames"
            + " (a worker of version {} answers them)", probeId, pinned, model.name(), model.version(), pinned);
      }
      tally.otherVersion++;
      return null;
    }
    if (plan.error != null) {
      deadLetter(r, plan.error, tally);
      return null;
    }
    int c = f.getChannels();
    int h = f.getHeight();
    int w = f.getWidth();
    ByteBuffer buf = f.getPixels();
    int length = buf == null ? 0 : buf.remaining();
    if (c <= 0 || h <= 0 || w <= 0) {
      deadLetter(r, "frame " + f.getFrameIndex() + " of probe " + probeId + " has size [" + c + "," + h + "," + w
          + "]; channels, height and width must be positive", tally);
      return null;
    }
    if ((long) c * h * w != length) {
      deadLetter(r, "frame " + f.getFrameIndex() + " of probe " + probeId + " has " + length + " pixel bytes but"
          + " channels*height*width = " + c + "*" + h + "*" + w + " = " + (long) c * h * w, tally);
      return null;
    }
    ProbeSpec spec = plan.spec;
    if (c != spec.getImageChannels() || h != spec.getImageHeight() || w != spec.getImageWidth()) {
      deadLetter(r, "frame " + f.getFrameIndex() + " is [" + c + "," + h + "," + w + "] but probe " + probeId
          + " declares images of [" + spec.getImageChannels() + "," + spec.getImageHeight() + ","
          + spec.getImageWidth() + "]", tally);
      return null;
    }
    if (!preprocessor.canAdapt(c)) {
      deadLetter(r, "frame " + f.getFrameIndex() + " of probe " + probeId + " has " + c + " channels, which cannot"
          + " be adapted to the " + preprocessor.settings().channels() + " channels of model " + model.name()
          + " (supported: equal counts, 1 to any, 3 to 1)", tally);
      return null;
    }
    return new Pending(r, f, bytes(buf), plan);
  }

  /** The plan of a probe; refreshes the probe specs once per poll batch for an unknown id. */
  private Plan plan(String probeId, Set<String> refreshed) {
    ProbeSpec spec = probes.get(probeId);
    if (spec == null && refreshed.add(probeId)) {
      probes.refresh();
      spec = probes.get(probeId);
    }
    if (spec == null) {
      return null;
    }
    Plan plan = plans.get(probeId);
    if (plan == null || plan.spec != spec) {
      plan = resolve(spec);
      plans.put(probeId, plan);
    }
    return plan;
  }

  private Plan resolve(ProbeSpec spec) {
    List<TappedLayer> taps = model.tappedLayers();
    List<String> requested = spec.getLayers() == null ? List.of() : spec.getLayers();
    if (requested.isEmpty()) {
      return new Plan(spec, taps, null);
    }
    List<LayerInfo> infos = taps.stream().map(TappedLayer::info).collect(Collectors.toList());
    Set<LayerInfo> chosen = new HashSet<>();
    for (String item : requested) {
      List<LayerInfo> m;
      try {
        m = LayerSelector.match(item.trim(), infos);
      } catch (IllegalArgumentException e) {
        m = List.of();
      }
      if (m.isEmpty()) {
        return new Plan(spec, List.of(), "probe " + spec.getProbeId() + " requests layer '" + item
            + "', which this worker does not tap; restart the worker with --layers including it (it taps: "
            + taps.stream().map(TappedLayer::name).collect(Collectors.joining(",")) + ")");
      }
      chosen.addAll(m);
    }
    List<TappedLayer> out = taps.stream().filter(t -> chosen.contains(t.info())).collect(Collectors.toList());
    return new Plan(spec, out, null);
  }

  /** Runs one batch (grouped by reduction) and sends the activations. */
  private void flush(List<Pending> batch, Tally tally) {
    Map<Reduction, List<Pending>> groups = new LinkedHashMap<>();
    for (Pending p : batch) {
      Reduction r = p.plan.spec.getReduction() == null ? Reduction.MEAN : p.plan.spec.getReduction();
      groups.computeIfAbsent(r, k -> new ArrayList<>()).add(p);
    }
    for (Map.Entry<Reduction, List<Pending>> g : groups.entrySet()) {
      runGroup(g.getValue(), g.getKey(), tally);
    }
  }

  private void runGroup(List<Pending> group, Reduction reduction, Tally tally) {
    int n = group.size();
    int len = preprocessor.inputLength();
    float[] input = new float[n * len];
    for (int i = 0; i < n; i++) {
      StimulusFrame f = group.get(i).frame;
      preprocessor.apply(group.get(i).pixels, f.getChannels(), f.getHeight(), f.getWidth(), input, i * len);
    }
    Map<String, float[][]> out;
    long t0 = System.nanoTime();
    try {
      out = model.run(input, n, reduction);
    } catch (RuntimeException e) {
      if (n > 1) { // find the frame that fails rather than refuse the whole batch
        for (Pending p : group) {
          runGroup(List.of(p), reduction, tally);
        }
      } else {
        deadLetter(group.get(0).record, "inference failed for this frame: " + e.getMessage(), tally);
      }
      return;
    } finally {
      inferenceTimer.record(System.nanoTime() - t0, TimeUnit.NANOSECONDS);
    }
    for (int from = 0; from < n; ) {
      int to = runEnd(group, from);
      sendRun(group, from, to, out, tally);
      from = to;
    }
  }

  /**
   * End (exclusive) of the run of consecutive frames of one image that starts at {@code from}:
   * same probe and image, frameIndex and imageFrame each one more than the previous frame's.
   */
  private static int runEnd(List<Pending> group, int from) {
    StimulusFrame first = group.get(from).frame;
    int to = from + 1;
    while (to < group.size()) {
      Pending p = group.get(to);
      StimulusFrame f = p.frame;
      int t = to - from;
      if (p.plan != group.get(from).plan || !f.getProbeId().equals(first.getProbeId()) || !f.getImageId().equals(first.getImageId())
          || f.getFrameIndex() != first.getFrameIndex() + t || f.getImageFrame() != first.getImageFrame() + t) {
        break;
      }
      to++;
    }
    return to;
  }

  /** Sends frames {@code from..to-1} of a group, one run of one image, as one record per tapped layer. */
  private void sendRun(List<Pending> group, int from, int to, Map<String, float[][]> out, Tally tally) {
    Pending first = group.get(from);
    Pending last = group.get(to - 1);
    int frames = to - from;
    String topic = Topics.ACTIVATIONS.name();
    // stimulus time of the run's last frame: each window the run completes is re-timed from it
    long ts = last.record.timestamp();
    for (TappedLayer layer : first.plan.layers) {
      float[][] rows = out.get(layer.name());
      int c = rows[from].length;
      PrimitivesArrays.FloatArray values = new PrimitivesArrays.FloatArray(frames * c, VALUES_SCHEMA);
      for (int i = from; i < to; i++) {
        for (float v : rows[i]) {
          values.add(values.size(), v);
        }
      }
      ActivationFrame a = ActivationFrame.newBuilder()
          .setProbeId(first.frame.getProbeId())
          .setModel(first.plan.spec.getModel())
          .setModelVersion(model.version())
          .setImageId(first.frame.getImageId())
          .setLayer(layer.name())
          .setFrameIndex(first.frame.getFrameIndex())
          .setImageFrame(first.frame.getImageFrame())
          .setValues(values)
          .setFrames(frames)
          .build();
      String key = Topics.probeLayerKey(first.frame.getProbeId(), layer.name());
      producer.send(new ProducerRecord<>(topic, null, ts >= 0 ? ts : null,
          activationKeys.serialize(topic, key), activationValues.serialize(topic, a)));
      tally.activations++;
    }
    tally.frames += frames;
  }

  private void deadLetter(ConsumerRecord<byte[], byte[]> r, String reason, Tally tally) {
    deadLetters.send(r, reason);
    tally.deadLetters++;
  }

  private static byte[] bytes(ByteBuffer b) {
    if (b.hasArray() && b.arrayOffset() == 0 && b.position() == 0 && b.array().length == b.remaining()) {
      return b.array();
    }
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }
}
