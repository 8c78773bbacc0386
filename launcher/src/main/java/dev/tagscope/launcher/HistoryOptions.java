package dev.tagscope.launcher;

import dev.tagscope.spectral.HistorySettings;
import java.time.Duration;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The importance history and rank-stability alerts of the Streams application
 * ({@link HistorySettings}): bucket length and grace, the reference, the alert threshold, top-k
 * and movers. Unset options keep {@link HistorySettings#defaults()}.
 */
public final class HistoryOptions {
  /** The setting each option sets, to name the option in a refusal. */
  private static final Map<String, String> OPTION_OF = Map.of("bucket", "--bucket-seconds", "grace", "--bucket-grace-seconds",
      "referenceBuckets", "--reference-buckets", "pinnedVersion", "--reference-version", "rhoThreshold", "--rho-threshold",
      "topK", "--top-k", "movers", "--movers");

  @Option(names = "--bucket-seconds", paramLabel = "S", description = "Importance-history bucket length, seconds of stimulus time"
      + " (default " + HistorySettings.DEFAULT_BUCKET_SECONDS + "; a bucket is published once stimulus time passes its end"
      + " + the grace).")
  Long bucketSeconds;

  @Option(names = "--bucket-grace-seconds", paramLabel = "S", description = "How long after a bucket's end late windows still"
      + " count, seconds of stimulus time (default " + HistorySettings.DEFAULT_GRACE_SECONDS + ").")
  Long graceSeconds;

  @Option(names = "--reference-buckets", paramLabel = "K", description = "Buckets that form a layer's reference ranking (default "
      + HistorySettings.DEFAULT_REFERENCE_BUCKETS + ").")
  Integer referenceBuckets;

  @Option(names = "--reference-version", paramLabel = "VERSION", description = "Model version whose first K buckets are the"
      + " reference (default: the first version seen).")
  String referenceVersion;

  @Option(names = "--rho-threshold", paramLabel = "RHO", description = "Spearman rho against the reference below which an alert"
      + " is raised on tagscope.alerts (default " + HistorySettings.DEFAULT_RHO_THRESHOLD + ").")
  Double rhoThreshold;

  @Option(names = "--top-k", paramLabel = "K", description = "k of the top-k overlap with the reference (default "
      + HistorySettings.DEFAULT_TOP_K + ").")
  Integer topK;

  @Option(names = "--movers", paramLabel = "N", description = "Filters listed in an alert, those whose rank moved most (default "
      + HistorySettings.DEFAULT_MOVERS + ").")
  Integer movers;

  /**
   * @return the settings: the defaults with the options given
   * @throws IllegalArgumentException naming the option and the fix when a value is out of range
   */
  HistorySettings settings() {
    HistorySettings d = HistorySettings.defaults();
    try {
      return new HistorySettings(
          bucketSeconds == null ? d.bucket() : Duration.ofSeconds(bucketSeconds),
          graceSeconds == null ? d.grace() : Duration.ofSeconds(graceSeconds),
          referenceBuckets == null ? d.referenceBuckets() : referenceBuckets,
          referenceVersion == null ? d.pinnedVersion() : referenceVersion,
          rhoThreshold == null ? d.rhoThreshold() : rhoThreshold,
          topK == null ? d.topK() : topK,
          movers == null ? d.movers() : movers);
    } catch (IllegalArgumentException e) {
      String m = e.getMessage();
      int colon = m.indexOf(':');
      String option = colon < 0 ? null : OPTION_OF.get(m.substring(0, colon));
      throw option == null ? e : new IllegalArgumentException(option + m.substring(colon), e);
    }
  }
}
