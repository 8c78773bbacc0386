/**
 * The producer's decoders, not an API: IDX files (plain or gzip) and image folders, and the
 * conversion of decoded images to the probe's channels and size. They read a stranger's bytes:
 * every malformed input is refused with an error naming the file and what is wrong.
 */
package dev.tagscope.producer.internal;
