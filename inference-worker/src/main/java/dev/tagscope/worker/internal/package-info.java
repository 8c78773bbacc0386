/** Internals of the inference worker (graph rewriting, layer selection, sidecar, probe cache, frame handling, dead-letter sizing and sending); no stable API. */
package dev.tagscope.worker.internal;
