/**
 * Internals of the dashboard: the in-memory view ({@code DashboardView}), the Kafka reader
 * ({@code TopicReader}), the server-sent event hub ({@code EventHub}), the Javalin routes
 * ({@code HttpApi}) and the JSON documents ({@code ApiModel}, {@code Json}). Not API.
 */
package dev.tagscope.dashboard.internal;
