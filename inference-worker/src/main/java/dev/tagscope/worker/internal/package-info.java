/** Internals of the inference worker (graph rewriting, layer selection, sidecar, probe cache, dead-letter sizing); no stable API. */
package dev.tagscope.worker.internal;
