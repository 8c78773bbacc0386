/**
 * The {@code tagscope} command ({@link dev.tagscope.launcher.TagscopeCommand}, picocli): the
 * all-in-one {@code demo} on an embedded broker, each service on its own against a cluster
 * ({@code producer}, {@code worker}, {@code spectral}, {@code dashboard}, {@code topics}), and
 * the offline commands ({@code analyze}, {@code validate}, {@code bench}). Options shared by
 * several commands are picocli mixins, one class each ({@code KafkaOptions}, {@code PlanOptions},
 * {@code ProbeOptions}, {@code ModelOptions}, ...); every command runs its services through one
 * {@code ServiceRunner}, which owns Ctrl-C handling and closing order.
 */
package dev.tagscope.launcher;
