package dev.tagscope.spectral.internal;

import dev.tagscope.schemas.ImportanceBucket;
import dev.tagscope.schemas.RankAlert;

/**
 * What the stability processor emits for one closed bucket: the bucket for the importance-history
 * topic, and at times an alert. Lives only inside the topology (never serialised); the topology
 * branches on the type. The record key is the target topic's key.
 */
public sealed interface HistoryOut permits HistoryOut.Bucket, HistoryOut.Alert {

  /** @param bucket the bucket with its stability, key {@code Topics.importanceKey(model, version, layer)} */
  record Bucket(ImportanceBucket bucket) implements HistoryOut {}

  /** @param alert a raised or cleared alert, key {@code Topics.modelLayerKey(model, layer)} */
  record Alert(RankAlert alert) implements HistoryOut {}
}
