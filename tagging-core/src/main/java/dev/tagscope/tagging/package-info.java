/**
 * The frequency-tagging method, without any transport: what a probe is and how its responses are
 * read. {@link dev.tagscope.tagging.ProbePlan} (built and validated by its builder, defaults in
 * {@link dev.tagscope.tagging.PlanDefaults}) says how images are split into regions
 * ({@link dev.tagscope.tagging.Layout}), tagged and shown;
 * {@link dev.tagscope.tagging.WindowGeometry} is the one place where windows, hops and frames per
 * image become window starts and ends; {@link dev.tagscope.tagging.SignalCatalogue} lists the
 * signal bins (fundamentals, harmonics, IM terms) and refuses plans whose components fall off a
 * bin, above Nyquist or onto one another; {@link dev.tagscope.tagging.AnalysisPlan} is what the
 * spectral analysis of a probe needs. Every refusal is a {@link dev.tagscope.tagging.PlanException}
 * naming the field and the fix.
 *
 * <p>Method: DESIGN.md section 1; Böge et al., arXiv:2411.10084, sec. 3.
 */
package dev.tagscope.tagging;
