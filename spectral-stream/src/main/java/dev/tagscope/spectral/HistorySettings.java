package dev.tagscope.spectral;

import dev.tagscope.schemas.Topics;
import java.time.Duration;

/**
 * Settings of the importance history and the rank-stability alerts (issue 9, items 3 and 4).
 *
 * <p>Importance is aggregated per (model, version, layer) in buckets of stimulus time of length
 * {@code bucket}, aligned to the epoch ({@code bucketStartMs} a multiple of the length). A bucket
 * is emitted once stream time (the largest stimulus time seen by its stream task) passes its end
 * plus {@code grace}; a window that comes later than that is dropped from the history (the running
 * importance still counts it). Per (model, layer) the reference is the windows-weighted mean of the
 * first {@code referenceBuckets} buckets of the first version seen, or of {@code pinnedVersion} when
 * one is given; each later bucket is compared with it by Spearman rho and top-{@code topK} overlap,
 * and an alert naming the {@code movers} filters whose rank moved most is raised when rho falls below
 * {@code rhoThreshold} (once per episode) and cleared when it is back at or above it.
 *
 * @param bucket bucket length of stimulus time; default {@link #DEFAULT_BUCKET} (1 min); 1 s to
 *     {@value Topics#HISTORY_RETENTION_DAYS} days (the history topic's retention)
 * @param grace how long after a bucket's end (in stimulus time) its windows are still taken;
 *     default {@link #DEFAULT_GRACE} (10 s); 0 up to one bucket length
 * @param referenceBuckets K, the buckets that form the reference; default
 *     {@value #DEFAULT_REFERENCE_BUCKETS}; at least 1
 * @param pinnedVersion the model version whose first K buckets are the reference; null for the
 *     first version seen (the default); when given, not blank
 * @param rhoThreshold rho below this raises an alert; default {@value #DEFAULT_RHO_THRESHOLD};
 *     -1 to 1
 * @param topK k of the top-k overlap; default {@value #DEFAULT_TOP_K}; at least 1 (a layer with
 *     fewer filters uses all of them)
 * @param movers filters listed in an alert, those whose rank moved most; default
 *     {@value #DEFAULT_MOVERS}; at least 1
 */
public record HistorySettings(Duration bucket, Duration grace, int referenceBuckets, String pinnedVersion, double rhoThreshold,
                              int topK, int movers) {
  /** Default {@link #bucket()} in seconds. */
  public static final long DEFAULT_BUCKET_SECONDS = 60;
  /** Default {@link #bucket()}: 1 minute of stimulus time. */
  public static final Duration DEFAULT_BUCKET = Duration.ofSeconds(DEFAULT_BUCKET_SECONDS);
  /** Default {@link #grace()} in seconds. */
  public static final long DEFAULT_GRACE_SECONDS = 10;
  /**
   * Default {@link #grace()}: 10 s of stimulus time, five 2-s windows: enough for the windows of
   * several layers and workers interleaving on the repartition topic, short enough that a bucket is
   * published soon after its end.
   */
  public static final Duration DEFAULT_GRACE = Duration.ofSeconds(DEFAULT_GRACE_SECONDS);
  /** Default {@link #referenceBuckets()}. */
  public static final int DEFAULT_REFERENCE_BUCKETS = 3;
  /** Default {@link #rhoThreshold()}. */
  public static final double DEFAULT_RHO_THRESHOLD = 0.8;
  /** Default {@link #topK()}. */
  public static final int DEFAULT_TOP_K = 8;
  /** Default {@link #movers()}. */
  public static final int DEFAULT_MOVERS = 8;
  /** Shortest bucket accepted: 1 s. */
  public static final Duration MIN_BUCKET = Duration.ofSeconds(1);

  /**
   * @throws IllegalArgumentException naming the setting and the fix when a value is out of range
   */
  public HistorySettings {
    Duration longest = Duration.ofDays(Topics.HISTORY_RETENTION_DAYS);
    if (bucket == null || bucket.compareTo(MIN_BUCKET) < 0 || bucket.compareTo(longest) > 0) {
      throw new IllegalArgumentException("bucket: must be from 1 s to " + Topics.HISTORY_RETENTION_DAYS + " days (the retention of "
          + Topics.IMPORTANCE_HISTORY.name() + "), default 1 min; got " + bucket);
    }
    if (bucket.toMillis() * 1_000_000 != bucket.toNanos()) {
      throw new IllegalArgumentException("bucket: must be a whole number of milliseconds, got " + bucket);
    }
    if (grace == null || grace.isNegative() || grace.compareTo(bucket) > 0) {
      throw new IllegalArgumentException("grace: must be from 0 to the bucket length (" + bucket.toMillis() + " ms), default 10 s;"
          + " got " + grace);
    }
    if (referenceBuckets < 1) {
      throw new IllegalArgumentException("referenceBuckets: must be at least 1 bucket (default " + DEFAULT_REFERENCE_BUCKETS
          + "), got " + referenceBuckets);
    }
    if (pinnedVersion != null && pinnedVersion.isBlank()) {
      throw new IllegalArgumentException("pinnedVersion: blank; give the model version (the model card's version, or sha256:...)"
          + " or leave it unset for the first version seen");
    }
    if (!(rhoThreshold >= -1 && rhoThreshold <= 1)) {
      throw new IllegalArgumentException("rhoThreshold: Spearman rho lies in [-1, 1]; give a threshold in that range (default "
          + DEFAULT_RHO_THRESHOLD + "), got " + rhoThreshold);
    }
    if (topK < 1) {
      throw new IllegalArgumentException("topK: must be at least 1 filter (default " + DEFAULT_TOP_K + "), got " + topK);
    }
    if (movers < 1) {
      throw new IllegalArgumentException("movers: must be at least 1 filter (default " + DEFAULT_MOVERS + "), got " + movers);
    }
  }

  /** @return the defaults: 1-min buckets, 10 s grace, K = 3, no pinned version, rho 0.8, top-8, 8 movers */
  public static HistorySettings defaults() {
    return new HistorySettings(DEFAULT_BUCKET, DEFAULT_GRACE, DEFAULT_REFERENCE_BUCKETS, null, DEFAULT_RHO_THRESHOLD, DEFAULT_TOP_K,
        DEFAULT_MOVERS);
  }

  /**
   * @param length bucket length
   * @param graceAfter grace after the bucket's end
   * @return a copy with that bucket and grace
   * @throws IllegalArgumentException as the constructor
   */
  public HistorySettings withBucket(Duration length, Duration graceAfter) {
    return new HistorySettings(length, graceAfter, referenceBuckets, pinnedVersion, rhoThreshold, topK, movers);
  }

  /**
   * @param k buckets in the reference
   * @param version pinned reference version, or null for the first version seen
   * @return a copy with that reference rule
   * @throws IllegalArgumentException as the constructor
   */
  public HistorySettings withReference(int k, String version) {
    return new HistorySettings(bucket, grace, k, version, rhoThreshold, topK, movers);
  }

  /**
   * @param threshold rho below which an alert is raised
   * @param k k of the top-k overlap
   * @param listed filters listed as movers
   * @return a copy with those alert settings
   * @throws IllegalArgumentException as the constructor
   */
  public HistorySettings withAlerts(double threshold, int k, int listed) {
    return new HistorySettings(bucket, grace, referenceBuckets, pinnedVersion, threshold, k, listed);
  }
}
