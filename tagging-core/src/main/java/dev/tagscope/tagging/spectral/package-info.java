/**
 * The spectral core: the FFT of each filter's window
 * ({@link dev.tagscope.tagging.spectral.WindowAnalyzer}, {@link dev.tagscope.tagging.spectral.Spectra}),
 * SNR and baseline-corrected amplitude per signal bin
 * ({@link dev.tagscope.tagging.spectral.WindowResult}), accumulation over windows and images
 * ({@link dev.tagscope.tagging.spectral.LayerAccumulator}), filter importance
 * ({@link dev.tagscope.tagging.spectral.ImportanceMath}), and the JSON report of an analysis
 * ({@link dev.tagscope.tagging.spectral.SpectralReport}, from a stream or from a CSV series,
 * {@link dev.tagscope.tagging.spectral.SeriesCsv}). Pure functions of arrays: the Streams
 * application, {@code tagscope analyze} and the offline probe of the validation run the same code,
 * so their numbers agree to the last bin.
 *
 * <p>Formulas: DESIGN.md section 1 (SNR: the amplitude at a signal bin over the mean amplitude of
 * its {@code K} baseline bins each side, as in Boremanse, Norcia and Rossion 2013; importance after
 * Böge et al., arXiv:2411.10084, sec. 3).
 */
package dev.tagscope.tagging.spectral;
