/**
 * Inside the topology, not an API: the window processor (which frames make a window, late and
 * duplicate frames, skipped windows), its frame buffer over the two state stores, the decoded
 * probe it windows by, the store updater for the probes topic, the sealed {@code Routed} output
 * (a window or a dead letter) and the stream-thread failure policy; and for the importance
 * history the stability processor with its stored state, the rank comparison (Spearman rho, top-k
 * overlap, movers) and its sealed {@code HistoryOut} output (a bucket or an alert).
 */
package dev.tagscope.spectral.internal;
