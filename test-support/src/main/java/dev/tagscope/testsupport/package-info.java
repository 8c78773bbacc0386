/**
 * Fixtures shared by the test suites of several modules, used at test scope only:
 * {@link dev.tagscope.testsupport.ProjectFiles} (the bundled model and sample images) and
 * {@link dev.tagscope.testsupport.TopicReads} (reading a topic back as an exactly-once reader
 * sees it). Fixtures one module alone uses stay in that module's tests.
 */
package dev.tagscope.testsupport;
