package dev.tagscope.schemas.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Times a fuzz test class and reports its {@link Outcomes} when it ends: printed, and written to
 * the file {@code -Dtagscope.fuzz.report} names when it is set (the build sets
 * {@code target/fuzz-report.txt} of each module in the suite, and one file per fuzz test in the
 * {@code fuzz} profile's campaign). The first report of a JVM starts the file afresh.
 *
 * <p>Without {@code JAZZER_FUZZ} the figures are those of the seed corpus (Jazzer's regression
 * mode); with it, those of the one fuzz test Jazzer fuzzed in this JVM.
 *
 * <pre>{@code
 * @ExtendWith(FuzzReport.class)
 * class IdxFuzzTest { @FuzzTest void idxFiles(FuzzedDataProvider data) { ... } }
 * }</pre>
 */
public final class FuzzReport implements BeforeAllCallback, AfterAllCallback {
  private static boolean started;
  private long t0;

  @Override
  public void beforeAll(ExtensionContext context) {
    Outcomes.start();
    t0 = System.nanoTime();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    String mode = System.getenv("JAZZER_FUZZ") == null ? " (seed corpus)" : " (fuzzing)";
    String report = Outcomes.current().report(context.getRequiredTestClass().getSimpleName() + mode, System.nanoTime() - t0);
    System.out.print(report);
    String file = System.getProperty("tagscope.fuzz.report");
    if (file == null) {
      return;
    }
    try {
      Path p = Path.of(file);
      Files.createDirectories(p.toAbsolutePath().getParent());
      synchronized (FuzzReport.class) {
        Files.writeString(p, report, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
            started ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
        started = true;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the fuzz report to " + file, e);
    }
  }
}
