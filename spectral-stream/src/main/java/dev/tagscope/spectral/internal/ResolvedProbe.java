package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.ProbeSpec;
import dev.tagscope.schemas.Topics;
import dev.tagscope.tagging.AnalysisPlan;
import dev.tagscope.tagging.WindowGeometry;
import dev.tagscope.tagging.spectral.WindowAnalyzer;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * A probe spec as the window processor uses it: decoded once from the bytes of the probes store,
 * with its window geometry and analyzer; or the reason its frames cannot be analysed. The
 * geometry and the analyzer check the spec exactly as a plan built by {@code ProbePlan} is
 * checked ({@link WindowGeometry}, {@link AnalysisPlan#fromProbe}), so a spec from another
 * producer is held to the same rules.
 */
final class ResolvedProbe {
  /** The spec's bytes as stored, to notice a republished probe. */
  final byte[] raw;
  /** The decoded spec, or null when it cannot be decoded. */
  final ProbeSpec spec;
  /** Where the windows of each image lie; null when {@link #error} is set. */
  final WindowGeometry geometry;
  /** The probe's analyzer; null when {@link #error} is set. */
  final WindowAnalyzer analyzer;
  /** Why the probe's frames cannot be analysed (the dead-letter reason), or null. */
  final String error;
  /** Identifies this version of the probe's spec in the layer state; never {@link FrameKeys.LayerState#UNKNOWN_SPEC}. */
  final long fingerprint;

  private ResolvedProbe(byte[] raw, ProbeSpec spec, WindowGeometry geometry, WindowAnalyzer analyzer, String error) {
    this.raw = raw;
    this.fingerprint = fingerprint(raw);
    this.spec = spec;
    this.geometry = geometry;
    this.analyzer = analyzer;
    this.error = error;
  }

  /**
   * Decodes and checks a stored probe spec.
   *
   * @param probeId the probe id (for the error message)
   * @param raw the spec's Avro bytes from the probes store
   * @return the resolved probe; its {@link #error} is set when the spec cannot be read or analysed
   */
  static ResolvedProbe of(String probeId, byte[] raw) {
    ProbeSpec spec;
    try {
      spec = Topics.PROBES.valueSerde().deserializer().deserialize(Topics.PROBES.name(), raw);
    } catch (RuntimeException e) {
      return new ResolvedProbe(raw, null, null, null, "probe '" + probeId + "' on " + Topics.PROBES.name()
          + " is not a readable ProbeSpec (" + e.getMessage() + "); republish the probe");
    }
    try {
      AnalysisPlan plan = AnalysisPlan.fromProbe(spec);
      return new ResolvedProbe(raw, spec, plan.window(), new WindowAnalyzer(plan), null);
    } catch (IllegalArgumentException e) {
      return new ResolvedProbe(raw, spec, null, null, "probe '" + probeId + "' cannot be analysed: " + e.getMessage()
          + "; republish a valid probe");
    }
  }

  /** First 8 bytes of the SHA-256 of the spec bytes (a collision only matters between two versions of one probe). */
  static long fingerprint(byte[] raw) {
    try {
      long v = ByteBuffer.wrap(MessageDigest.getInstance("SHA-256").digest(raw)).getLong();
      return v == FrameKeys.LayerState.UNKNOWN_SPEC ? 1 : v;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every Java platform", e);
    }
  }
}
