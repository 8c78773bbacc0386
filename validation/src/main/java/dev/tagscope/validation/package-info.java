/**
 * Ground truth for the tag ranking (DESIGN.md section 1b): filter ablation through a rewritten
 * graph (Morcos et al., ICLR 2018), class selectivity, cheap criteria (mean activation, weight L1
 * after Li et al. 2017, random), Spearman rho with bootstrap intervals, and cumulative ablation
 * (pruning) curves; the report, its CSV files and charts, and the records of the validation topic.
 * Entry point: {@link dev.tagscope.validation.Validator}; {@code tagscope validate} drives it.
 */
package dev.tagscope.validation;
