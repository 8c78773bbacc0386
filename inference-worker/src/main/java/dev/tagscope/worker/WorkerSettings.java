package dev.tagscope.worker;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * Settings of an {@link InferenceWorker}.
 *
 * <pre>{@code
 * WorkerSettings s = WorkerSettings.defaults(Path.of("models/fmnist-resnet32.onnx"))
 *     .withLayers("default,glob:layer3.*")
 *     .withBatchSize(32)
 *     .withInstanceId("worker-1");
 * }</pre>
 *
 * @param modelPath the {@code .onnx} model; its sidecar {@code <model>.json} is read when present
 * @param layers layer selection ({@code --layers}): {@code null}/blank for the default taps, or
 *     a comma list of names and {@code glob:}/{@code regex:} patterns (see {@link ModelConfig#layers()})
 * @param batchSize frames per {@code session.run}, at least 1 (default 32)
 * @param preprocessing overrides of the sidecar: name, input, channels, height, width, scale,
 *     mean, std ({@link ModelOverrides#NONE} for none)
 * @param intraOpThreads ONNX Runtime intra-op threads (0 = one per core)
 * @param executionProvider {@code cpu} (default) or {@code cuda}
 * @param groupId consumer group of the stimuli consumer; {@code null} (the default) for
 *     {@value #DEFAULT_GROUP_ID}{@code .<model name>}, one group per model (see
 *     {@link #groupIdFor(String)}); instances with the same group share the partitions
 * @param transactionalIdPrefix prefix of the producer's {@code transactional.id}; {@code null}
 *     (the default) for {@value #DEFAULT_TRANSACTIONAL_ID_PREFIX}{@code .<model name>}; the id is
 *     {@code prefix + "-" + instanceId}
 * @param instanceId this instance's id, unique among running instances; give a stable id
 *     (e.g. the pod name) so that a restarted instance fences its predecessor at once. The
 *     default is random per process.
 * @param pollTimeout longest wait of one consumer poll (default 500 ms)
 * @param maxPollRecords frames per poll, hence per transaction, at most (default 256)
 * @param clientOverrides extra Kafka client properties (security, timeouts), applied over the
 *     worker's defaults to the consumer, the producer and the probe reader; the settings
 *     exactly-once depends on are pinned ({@code dev.tagscope.service.KafkaClientPolicy}) and an
 *     override that changes one is refused when the worker is built
 * @param commitRetries how many more times a transactional call that timed out
 *     ({@code commitTransaction}, {@code sendOffsetsToTransaction}, {@code abortTransaction},
 *     {@code initTransactions}; each waits up to the producer's {@code max.block.ms}) is called
 *     again before the worker gives up, at least 0 (default {@value #DEFAULT_COMMIT_RETRIES}).
 *     Keep {@code (commitRetries + 1) * max.block.ms} below the consumer's
 *     {@code max.poll.interval.ms}, or the group moves the partitions away meanwhile.
 * @param commitRetryBackoff wait before the first such retry, doubled for each next one up to
 *     5 s; zero or more (default 1 s)
 * @param intraOpSpinning let ONNX Runtime's intra-op threads spin while they wait for work (see
 *     {@link ModelConfig#intraOpSpinning()}; default false)
 * @param engine {@code onnx}, {@code djl}, or {@code null} (the default) to choose by the model file's
 *     extension (see {@link ModelConfig#engine()})
 * @param modelWatch how often the worker checks its model file and card for a new version and swaps
 *     to it between two transactions ({@code --model-watch}); a change is loaded once the files have
 *     stayed the same for one such interval. {@code null} or zero (the default): not watched
 */
public record WorkerSettings(Path modelPath, String layers, int batchSize, ModelOverrides preprocessing,
                             int intraOpThreads, String executionProvider, String groupId,
                             String transactionalIdPrefix, String instanceId, Duration pollTimeout,
                             int maxPollRecords, Map<String, String> clientOverrides,
                             int commitRetries, Duration commitRetryBackoff, boolean intraOpSpinning,
                             String engine, Duration modelWatch) {

  /** Default consumer group, followed by {@code .<model name>}. */
  public static final String DEFAULT_GROUP_ID = "tagscope-inference-worker";
  /** Default transactional id prefix, followed by {@code .<model name>}. */
  public static final String DEFAULT_TRANSACTIONAL_ID_PREFIX = "tagscope-inference-worker";
  /** Default frames per inference batch. */
  public static final int DEFAULT_BATCH_SIZE = 32;
  /**
   * Default retries of a timed-out transactional call: with Kafka's default {@code max.block.ms}
   * of 60 s, the four attempts of one call stay within the default {@code max.poll.interval.ms}
   * of 5 minutes. Each call ({@code sendOffsetsToTransaction}, then the commit or the abort) has
   * its own budget, so a batch whose calls all time out can wait longer and lose its partitions
   * to a rebalance; Kafka then refuses its offsets, so nothing is committed twice.
   */
  public static final int DEFAULT_COMMIT_RETRIES = 3;
  /** Default wait before the first retry of a timed-out transactional call. */
  public static final Duration DEFAULT_COMMIT_RETRY_BACKOFF = Duration.ofSeconds(1);

  /**
   * Validates the settings and fills defaults for {@code null} fields.
   *
   * @throws IllegalArgumentException naming the field and the fix
   */
  public WorkerSettings {
    Objects.requireNonNull(modelPath, "modelPath");
    if (batchSize < 1) {
      throw new IllegalArgumentException("batchSize must be >= 1, got " + batchSize + " (default " + DEFAULT_BATCH_SIZE + ")");
    }
    preprocessing = preprocessing == null ? ModelOverrides.NONE : preprocessing;
    if (intraOpThreads < 0) {
      throw new IllegalArgumentException("intraOpThreads must be >= 0 (0 = ONNX Runtime's default), got " + intraOpThreads);
    }
    executionProvider = executionProvider == null || executionProvider.isBlank() ? ModelConfig.CPU : executionProvider;
    groupId = blankTo(groupId, null);
    transactionalIdPrefix = blankTo(transactionalIdPrefix, null);
    instanceId = blankTo(instanceId, UUID.randomUUID().toString().substring(0, 8));
    pollTimeout = pollTimeout == null ? Duration.ofMillis(500) : pollTimeout;
    if (pollTimeout.isNegative() || pollTimeout.isZero()) {
      throw new IllegalArgumentException("pollTimeout must be positive, got " + pollTimeout);
    }
    if (maxPollRecords < 1) {
      throw new IllegalArgumentException("maxPollRecords must be >= 1, got " + maxPollRecords);
    }
    clientOverrides = clientOverrides == null ? Map.of() : Map.copyOf(clientOverrides);
    if (commitRetries < 0) {
      throw new IllegalArgumentException("commitRetries must be >= 0 (0 = give up after the first timeout), got "
          + commitRetries + " (default " + DEFAULT_COMMIT_RETRIES + ")");
    }
    engine = ModelConfig.checkedEngine(engine);
    if (modelWatch != null && modelWatch.isNegative()) {
      throw new IllegalArgumentException("modelWatch must be positive (or zero / null: do not watch the model file), got "
          + modelWatch);
    }
    modelWatch = modelWatch == null || modelWatch.isZero() ? null : modelWatch;
    commitRetryBackoff = commitRetryBackoff == null ? DEFAULT_COMMIT_RETRY_BACKOFF : commitRetryBackoff;
    if (commitRetryBackoff.isNegative()) {
      throw new IllegalArgumentException("commitRetryBackoff must be >= 0, got " + commitRetryBackoff
          + " (default " + DEFAULT_COMMIT_RETRY_BACKOFF + ")");
    }
  }

  /**
   * The settings as they were before the commit retries existed: those get their defaults
   * ({@value #DEFAULT_COMMIT_RETRIES} retries, 1 s back-off), and intra-op threads do not spin. Kept so that callers of the
   * earlier canonical constructor still compile.
   *
   * @param modelPath the {@code .onnx} model
   * @param layers layer selection, {@code null} for the default taps
   * @param batchSize frames per {@code session.run}, at least 1
   * @param preprocessing sidecar overrides, {@code null} for none
   * @param intraOpThreads ONNX Runtime intra-op threads (0 = one per core)
   * @param executionProvider {@code cpu} or {@code cuda}, {@code null} for cpu
   * @param groupId consumer group, {@code null} for the default
   * @param transactionalIdPrefix prefix of the {@code transactional.id}, {@code null} for the default
   * @param instanceId this instance's id, {@code null} for a random one
   * @param pollTimeout longest wait of one poll, {@code null} for 500 ms
   * @param maxPollRecords frames per poll at most, at least 1
   * @param clientOverrides extra Kafka client properties, {@code null} for none
   * @throws IllegalArgumentException naming the field and the fix
   */
  public WorkerSettings(Path modelPath, String layers, int batchSize, ModelOverrides preprocessing,
                        int intraOpThreads, String executionProvider, String groupId,
                        String transactionalIdPrefix, String instanceId, Duration pollTimeout,
                        int maxPollRecords, Map<String, String> clientOverrides) {
    this(modelPath, layers, batchSize, preprocessing, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, clientOverrides, DEFAULT_COMMIT_RETRIES,
        DEFAULT_COMMIT_RETRY_BACKOFF, false, null, null);
  }

  /**
   * The settings as they were before the model watch existed: the model file is not watched. Kept so
   * that callers of the earlier canonical constructor still compile.
   *
   * @param modelPath the model file
   * @param layers layer selection, {@code null} for the default taps
   * @param batchSize frames per model run, at least 1
   * @param preprocessing sidecar overrides, {@code null} for none
   * @param intraOpThreads intra-op threads (0 = one per core)
   * @param executionProvider {@code cpu} or {@code cuda}, {@code null} for cpu
   * @param groupId consumer group, {@code null} for the default
   * @param transactionalIdPrefix prefix of the {@code transactional.id}, {@code null} for the default
   * @param instanceId this instance's id, {@code null} for a random one
   * @param pollTimeout longest wait of one poll, {@code null} for 500 ms
   * @param maxPollRecords frames per poll at most, at least 1
   * @param clientOverrides extra Kafka client properties, {@code null} for none
   * @param commitRetries retries of a timed-out transactional call, at least 0
   * @param commitRetryBackoff wait before the first such retry, {@code null} for 1 s
   * @param intraOpSpinning let intra-op threads spin while they wait
   * @param engine {@code onnx}, {@code djl}, or {@code null} for the file's extension
   * @throws IllegalArgumentException naming the field and the fix
   */
  public WorkerSettings(Path modelPath, String layers, int batchSize, ModelOverrides preprocessing,
                        int intraOpThreads, String executionProvider, String groupId,
                        String transactionalIdPrefix, String instanceId, Duration pollTimeout,
                        int maxPollRecords, Map<String, String> clientOverrides,
                        int commitRetries, Duration commitRetryBackoff, boolean intraOpSpinning, String engine) {
    this(modelPath, layers, batchSize, preprocessing, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, clientOverrides, commitRetries,
        commitRetryBackoff, intraOpSpinning, engine, null);
  }

  private static String blankTo(String v, String dflt) {
    return v == null || v.isBlank() ? dflt : v.trim();
  }

  /**
   * Defaults: default taps, batch 32, no overrides, CPU, one consumer group per model, random instance id,
   * {@value #DEFAULT_COMMIT_RETRIES} retries of a timed-out commit starting 1 s apart.
   *
   * @param modelPath the model file
   * @return settings
   */
  public static WorkerSettings defaults(Path modelPath) {
    return new WorkerSettings(modelPath, null, DEFAULT_BATCH_SIZE, ModelOverrides.NONE, 0, ModelConfig.CPU,
        null, null, null, Duration.ofMillis(500), 256, Map.of(),
        DEFAULT_COMMIT_RETRIES, DEFAULT_COMMIT_RETRY_BACKOFF, false, null, null);
  }

  /**
   * The model part of these settings.
   *
   * @return the configuration {@link ActivationModel#load(ModelConfig)} takes
   */
  public ModelConfig modelConfig() {
    return new ModelConfig(modelPath, layers, preprocessing, intraOpThreads, executionProvider, intraOpSpinning, engine);
  }

  /**
   * The consumer group of the stimuli consumer. Frames of a probe for another model are skipped,
   * so each model's workers need a group of their own, or they would take (and skip) each other's
   * partitions.
   *
   * @param modelName the loaded model's name ({@link ActivationModel#name()})
   * @return {@link #groupId()} when set, else {@value #DEFAULT_GROUP_ID}{@code .<modelName>}
   */
  public String groupIdFor(String modelName) {
    return groupId != null ? groupId : DEFAULT_GROUP_ID + "." + modelName;
  }

  /**
   * The producer's transactional id, unique per model and instance.
   *
   * @param modelName the loaded model's name
   * @return {@code prefix + "-" + instanceId}, the prefix being {@link #transactionalIdPrefix()}
   *     when set, else {@value #DEFAULT_TRANSACTIONAL_ID_PREFIX}{@code .<modelName>}
   */
  public String transactionalIdFor(String modelName) {
    String prefix = transactionalIdPrefix != null ? transactionalIdPrefix : DEFAULT_TRANSACTIONAL_ID_PREFIX + "." + modelName;
    return prefix + "-" + instanceId;
  }

  /**
   * @param v layer selection
   * @return a copy with it replaced
   */
  public WorkerSettings withLayers(String v) {
    return new WorkerSettings(modelPath, v, batchSize, preprocessing, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, clientOverrides,
        commitRetries, commitRetryBackoff, intraOpSpinning, engine, modelWatch);
  }

  /**
   * @param v frames per batch
   * @return a copy with it replaced
   */
  public WorkerSettings withBatchSize(int v) {
    return new WorkerSettings(modelPath, layers, v, preprocessing, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, clientOverrides,
        commitRetries, commitRetryBackoff, intraOpSpinning, engine, modelWatch);
  }

  /**
   * @param v sidecar overrides
   * @return a copy with them replaced
   */
  public WorkerSettings withPreprocessing(ModelOverrides v) {
    return new WorkerSettings(modelPath, layers, batchSize, v, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, clientOverrides,
        commitRetries, commitRetryBackoff, intraOpSpinning, engine, modelWatch);
  }

  /**
   * @param v ONNX Runtime intra-op threads
   * @return a copy with it replaced
   */
  public WorkerSettings withIntraOpThreads(int v) {
    return new WorkerSettings(modelPath, layers, batchSize, preprocessing, v, executionProvider, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, clientOverrides,
        commitRetries, commitRetryBackoff, intraOpSpinning, engine, modelWatch);
  }

  /**
   * @param v {@code cpu} or {@code cuda}
   * @return a copy with it replaced
   */
  public WorkerSettings withExecutionProvider(String v) {
    return new WorkerSettings(modelPath, layers, batchSize, preprocessing, intraOpThreads, v, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, clientOverrides,
        commitRetries, commitRetryBackoff, intraOpSpinning, engine, modelWatch);
  }

  /**
   * @param v consumer group id
   * @return a copy with it replaced
   */
  public WorkerSettings withGroupId(String v) {
    return new WorkerSettings(modelPath, layers, batchSize, preprocessing, intraOpThreads, executionProvider, v,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, clientOverrides,
        commitRetries, commitRetryBackoff, intraOpSpinning, engine, modelWatch);
  }

  /**
   * @param v transactional id prefix
   * @return a copy with it replaced
   */
  public WorkerSettings withTransactionalIdPrefix(String v) {
    return new WorkerSettings(modelPath, layers, batchSize, preprocessing, intraOpThreads, executionProvider, groupId,
        v, instanceId, pollTimeout, maxPollRecords, clientOverrides,
        commitRetries, commitRetryBackoff, intraOpSpinning, engine, modelWatch);
  }

  /**
   * @param v instance id
   * @return a copy with it replaced
   */
  public WorkerSettings withInstanceId(String v) {
    return new WorkerSettings(modelPath, layers, batchSize, preprocessing, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, v, pollTimeout, maxPollRecords, clientOverrides,
        commitRetries, commitRetryBackoff, intraOpSpinning, engine, modelWatch);
  }

  /**
   * @param v longest poll wait
   * @return a copy with it replaced
   */
  public WorkerSettings withPollTimeout(Duration v) {
    return new WorkerSettings(modelPath, layers, batchSize, preprocessing, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, instanceId, v, maxPollRecords, clientOverrides,
        commitRetries, commitRetryBackoff, intraOpSpinning, engine, modelWatch);
  }

  /**
   * @param v frames per poll at most
   * @return a copy with it replaced
   */
  public WorkerSettings withMaxPollRecords(int v) {
    return new WorkerSettings(modelPath, layers, batchSize, preprocessing, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, v, clientOverrides,
        commitRetries, commitRetryBackoff, intraOpSpinning, engine, modelWatch);
  }

  /**
   * @param v extra Kafka client properties
   * @return a copy with them replaced
   */
  public WorkerSettings withClientOverrides(Map<String, String> v) {
    return new WorkerSettings(modelPath, layers, batchSize, preprocessing, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, v,
        commitRetries, commitRetryBackoff, intraOpSpinning, engine, modelWatch);
  }

  /**
   * @param v retries of a transactional call that timed out, at least 0
   * @return a copy with it replaced
   */
  public WorkerSettings withCommitRetries(int v) {
    return new WorkerSettings(modelPath, layers, batchSize, preprocessing, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, clientOverrides, v, commitRetryBackoff, intraOpSpinning, engine, modelWatch);
  }

  /**
   * @param v wait before the first retry of a timed-out transactional call (doubled for each next one, up to 5 s)
   * @return a copy with it replaced
   */
  public WorkerSettings withCommitRetryBackoff(Duration v) {
    return new WorkerSettings(modelPath, layers, batchSize, preprocessing, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, clientOverrides, commitRetries, v, intraOpSpinning, engine, modelWatch);
  }

  /**
   * @param v let ONNX Runtime's intra-op threads spin while they wait (see {@link ModelConfig#intraOpSpinning()})
   * @return a copy with it replaced
   */
  public WorkerSettings withIntraOpSpinning(boolean v) {
    return new WorkerSettings(modelPath, layers, batchSize, preprocessing, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, clientOverrides, commitRetries,
        commitRetryBackoff, v, engine, modelWatch);
  }

  /**
   * @param v {@code onnx}, {@code djl}, or {@code null} to choose by the model file's extension
   * @return a copy with it replaced
   */
  public WorkerSettings withEngine(String v) {
    return new WorkerSettings(modelPath, layers, batchSize, preprocessing, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, clientOverrides, commitRetries,
        commitRetryBackoff, intraOpSpinning, v, modelWatch);
  }

  /**
   * @param v how often to check the model file for a new version ({@code null} or zero: do not watch)
   * @return a copy with it replaced
   */
  public WorkerSettings withModelWatch(Duration v) {
    return new WorkerSettings(modelPath, layers, batchSize, preprocessing, intraOpThreads, executionProvider, groupId,
        transactionalIdPrefix, instanceId, pollTimeout, maxPollRecords, clientOverrides, commitRetries,
        commitRetryBackoff, intraOpSpinning, engine, v);
  }
}
