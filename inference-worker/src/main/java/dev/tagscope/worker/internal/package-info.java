/** Internals of the inference worker (graph rewriting, layer selection, sidecar, probe cache); no stable API. */
package dev.tagscope.worker.internal;
