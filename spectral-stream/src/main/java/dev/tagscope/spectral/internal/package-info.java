/**
 * Inside the topology, not an API: the window processor (which frames make a window, late and
 * duplicate frames, skipped windows), its frame buffer over the two state stores, the decoded
 * probe it windows by, the store updater for the probes topic, the sealed {@code Routed} output
 * (a window or a dead letter) and the stream-thread failure policy.
 */
package dev.tagscope.spectral.internal;
