package dev.tagscope.producer;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which inference requests of a live-traffic probe ({@link LiveTraffic}) are probed: every k-th
 * request of each partition, or at most N requests per minute of record time. Exactly one of the
 * two is set.
 *
 * <ul>
 *   <li><b>Every k-th</b> ({@link #every(int)}): per partition of the requests topic, the first
 *       request this producer reads and then every k-th after it (reads 1, k+1, 2k+1, ...). The
 *       choice depends only on the partition's record order, so it is deterministic: the same
 *       records read from the same position give the same sample. Counting starts afresh when a
 *       partition is assigned (a restart resumes at the committed position and counts from there).
 *       It counts records, not offsets: offsets have gaps (transaction markers, compaction), and
 *       {@code offset % k} would sample all or nothing of a topic whose producer writes one record per
 *       transaction.</li>
 *   <li><b>N per minute</b> ({@link #perMinute(double)}): record time is cut into slots of
 *       {@code 60 / N} s ({@code slot = floor(timestamp * N / 60000)}); a request is probed when its
 *       slot is later than the slot of the last request probed, over all partitions this producer
 *       reads. So at most N requests per minute of record time are probed. Record time (the
 *       request's Kafka timestamp, {@code CreateTime} or {@code LogAppendTime} as the topic says), not
 *       the wall clock, because it makes the sample a property of the traffic: re-reading the same
 *       records samples the same ones, a backlog read after a pause is sampled at the rate its requests
 *       arrived rather than all or nothing, and the rate does not depend on how fast the probe runs.
 *       Requests without a timestamp (-1) are never probed under this rule.</li>
 * </ul>
 *
 * <p>Only a probed request is decoded; one refused to the dead-letter topic still uses its sample
 * (the next request probed is the one the rule picks next), so refusals never raise the rate.
 *
 * @param everyK k &gt;= 1 for every-k-th sampling, else 0
 * @param perMinuteRate N &gt; 0 requests per minute for rate sampling, else 0
 */
public record Sampling(int everyK, double perMinuteRate) {
  private static final Pattern RATE = Pattern.compile("\\s*([0-9]+(?:\\.[0-9]+)?)\\s*/\\s*min\\s*");

  /**
   * @throws IllegalArgumentException unless exactly one of the two is set, to a valid value
   */
  public Sampling {
    boolean k = everyK != 0;
    boolean n = perMinuteRate != 0;
    if (k == n) {
      throw new IllegalArgumentException("sampling: give exactly one of every k-th request or N requests per minute, got everyK="
          + everyK + ", perMinute=" + perMinuteRate);
    }
    if (k && everyK < 1) {
      throw new IllegalArgumentException("sample every: must be a whole number of requests >= 1 (1 probes every request), got " + everyK);
    }
    if (n && !(perMinuteRate > 0 && Double.isFinite(perMinuteRate))) {
      throw new IllegalArgumentException("sample rate: must be a finite number of requests per minute > 0 (e.g. 30/min), got "
          + perMinuteRate);
    }
  }

  /**
   * Every k-th request of each partition.
   *
   * @param k requests per sample, &gt;= 1
   * @return the sampling
   * @throws IllegalArgumentException when {@code k < 1}
   */
  public static Sampling every(int k) {
    if (k == 0) {
      throw new IllegalArgumentException("sample every: must be a whole number of requests >= 1 (1 probes every request), got 0");
    }
    return new Sampling(k, 0);
  }

  /**
   * At most N requests per minute of record time.
   *
   * @param n requests per minute, finite and &gt; 0 (fractions allowed: 0.5 is one every 2 min)
   * @return the sampling
   * @throws IllegalArgumentException when {@code n} is not finite and positive
   */
  public static Sampling perMinute(double n) {
    if (n == 0) {
      throw new IllegalArgumentException("sample rate: must be a finite number of requests per minute > 0 (e.g. 30/min), got 0");
    }
    return new Sampling(0, n);
  }

  /**
   * Parses a rate written {@code N/min}, e.g. {@code 30/min} or {@code 0.5/min}.
   *
   * @param text the rate
   * @return the sampling
   * @throws IllegalArgumentException when the text is not {@code N/min} with N &gt; 0, saying so
   */
  public static Sampling parseRate(String text) {
    Matcher m = text == null ? null : RATE.matcher(text.toLowerCase(Locale.ROOT));
    if (m == null || !m.matches()) {
      throw new IllegalArgumentException("sample rate: expected N/min with N > 0 requests per minute (e.g. 30/min or 0.5/min), got '"
          + text + "'");
    }
    return perMinute(Double.parseDouble(m.group(1)));
  }

  /** @return true for every-k-th sampling, false for N per minute */
  public boolean isEveryK() {
    return everyK != 0;
  }

  /**
   * The length of one rate slot.
   *
   * @return {@code 60000 / N} ms, for N-per-minute sampling
   * @throws IllegalStateException for every-k-th sampling
   */
  public double slotMs() {
    if (isEveryK()) {
      throw new IllegalStateException("every-k-th sampling has no time slot");
    }
    return 60_000.0 / perMinuteRate;
  }

  @Override
  public String toString() {
    return isEveryK() ? "every " + everyK + (everyK == 1 ? " request" : " requests") + " of each partition"
        : "at most " + perMinuteRate + " requests per minute of record time";
  }
}
