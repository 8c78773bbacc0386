/**
 * Implementation details of {@code tagging-core}, not an API: the search for default tag
 * frequencies of layouts with more than two regions. Other modules must not use it (ArchitectureTest).
 */
package dev.tagscope.tagging.internal;
