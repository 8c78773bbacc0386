package dev.tagscope.schemas.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Runs one fuzz input through a decoder under a time bound and sorts the outcome: decoded, or
 * refused with one of the decoder's documented errors and a message that passes the fuzz test's
 * test of clarity. Anything else (another exception, an error such as {@link OutOfMemoryError},
 * a blank message, no answer within {@link #LIMIT}) fails the fuzz test with the input in hex:
 * Jazzer reports it as a finding and keeps the input as a crash file.
 *
 * <pre>{@code
 * Fuzz.check(input, "tagscope.probes value", () -> serde.deserialize(topic, input.bytes()),
 *     m -> m.contains(topic), SerializationException.class);
 * }</pre>
 */
public final class Fuzz {
  /** The longest a decoder may take over one input: {@code -Dtagscope.fuzz.limit.ms}, 2 s by default. */
  public static final Duration LIMIT = Duration.ofMillis(Long.getLong("tagscope.fuzz.limit.ms", 2000));

  /** How long a hung decoder is given to end before the next input is tried. */
  private static final Duration ABANDONED_WAIT = Duration.ofSeconds(60);

  /** One long-lived worker: a hand-over costs microseconds, a thread per input would cost more than most decoders. */
  private static Thread workerThread;
  private static ExecutorService worker = newWorker();
  /** The worker last abandoned as hung, until it ends. */
  private static Thread abandoned;

  private Fuzz() {}

  /** A decoder call that may throw anything. */
  @FunctionalInterface
  public interface Decode {
    /**
     * @return what was decoded (only checked for not being thrown)
     * @throws Exception a refusal
     */
    Object run() throws Exception;
  }

  /**
   * Runs {@code decode} over one input and counts its outcome in {@link Outcomes}.
   *
   * @param input the input (a {@link FuzzInput}, or anything whose {@code toString()} shows it), shown when the test fails
   * @param decoder the name its outcome is counted under
   * @param decode the decoder call
   * @param clear what a refusal's message must satisfy (it is never null or blank)
   * @param refusals the documented error types (subclasses included)
   * @return the decoded value, or null when it was refused
   * @throws AssertionError when the decoder hangs, throws something else, or refuses unclearly
   */
  public static Object check(Object input, String decoder, Decode decode, Predicate<String> clear, Class<?>... refusals) {
    long t0 = System.nanoTime();
    try {
      Object out = within(input, decode);
      Outcomes.record(decoder, "decoded", System.nanoTime() - t0);
      return out;
    } catch (AssertionError e) {
      throw e;
    } catch (Error e) {
      // An OutOfMemoryError of one huge allocation leaves the JVM able to report: fail with the input,
      // not as an error that JUnit takes as fatal and that would hide it.
      throw new AssertionError(decoder + " failed with " + e + " for " + input, e);
    } catch (Exception e) {
      long nanos = System.nanoTime() - t0;
      if (Arrays.stream(refusals).noneMatch(r -> r.isInstance(e))) {
        throw new AssertionError(decoder + " threw " + e + " instead of one of " + Arrays.stream(refusals)
            .map(Class::getSimpleName).toList() + " for " + input, e);
      }
      String message = e.getMessage();
      if (message == null || message.isBlank() || !clear.test(message)) {
        throw new AssertionError(decoder + " refused with an unclear message '" + message + "' for " + input, e);
      }
      Outcomes.record(decoder, "refused " + e.getClass().getSimpleName(), nanos);
      return null;
    }
  }

  /**
   * Runs {@code work} on the worker thread and waits at most {@link #LIMIT}.
   *
   * @param input the input, shown when it hangs
   * @param work the call
   * @return what {@code work} returned
   * @throws Exception what {@code work} threw (an {@link Error} as it is)
   * @throws AssertionError when there is no answer within the limit; the stuck worker is abandoned
   */
  public static synchronized Object within(Object input, Decode work) throws Exception {
    if (abandoned != null) {
      // An input tried right after a hang (the next seed, or Jazzer minimizing the finding) would be
      // failed by the stuck decoder's memory and CPU: let it end first.
      abandoned.join(ABANDONED_WAIT.toMillis());
      if (abandoned.isAlive()) {
        throw new AssertionError("a decoder abandoned as hung is still running after " + ABANDONED_WAIT.toSeconds()
            + " s more; not trying " + input);
      }
      abandoned = null;
    }
    Future<Object> f = worker.submit((Callable<Object>) work::run);
    try {
      return f.get(LIMIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      f.cancel(true);
      worker.shutdownNow();
      abandoned = workerThread;
      worker = newWorker(); // the stuck thread is a daemon: it cannot keep the JVM up
      throw new AssertionError("no answer within " + LIMIT.toMillis() + " ms (a hang) for " + input);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Exception ex) {
        throw ex;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw e;
    }
  }

  /**
   * A fresh folder for the files a file decoder is given, deleted with all it holds when the JVM
   * ends (a decoder abandoned as hung may still be writing into it before then).
   *
   * <p>The folder is made in memory, under {@code /dev/shm}, where the machine has it: on this
   * project's ext4 disks (mounted with {@code discard}) rewriting a small file costs about 1 ms,
   * thirty times what it costs in memory. {@code -Dtagscope.fuzz.scratch=DIR} chooses another parent.
   *
   * @param name the start of the folder's name
   * @return the folder
   */
  public static Path scratch(String name) {
    Path shm = Path.of("/dev/shm");
    Path parent = Path.of(System.getProperty("tagscope.fuzz.scratch",
        Files.isDirectory(shm) && Files.isWritable(shm) ? shm.toString() : System.getProperty("java.io.tmpdir")));
    try {
      Path dir = Files.createTempDirectory(parent, name);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        try (Stream<Path> walk = Files.walk(dir)) {
          walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
          // best effort: a temporary folder
        }
      }));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a scratch folder for fuzz inputs", e);
    }
  }

  private static ExecutorService newWorker() {
    return Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "fuzz-worker");
      t.setDaemon(true);
      workerThread = t;
      return t;
    });
  }
}
