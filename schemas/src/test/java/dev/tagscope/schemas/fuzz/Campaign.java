package dev.tagscope.schemas.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * Marks a fuzz property and says how many inputs its campaign tries. In the normal suite the
 * property runs with the {@code tries} of its {@code @Property} (a few hundred: a smoke run);
 * under {@code -Dtagscope.fuzz=campaign} (the {@code fuzz} Maven profile) with {@link #tries()},
 * or with {@code -Dtagscope.fuzz.tries=N} when that is given. Either way, when the property ends
 * its {@link Outcomes} are printed, and written to the file {@code -Dtagscope.fuzz.report}
 * names when it is set (the build sets {@code target/fuzz-report.txt} of each module).
 *
 * <pre>{@code
 * @Property(tries = 300)
 * @Campaign(tries = 150_000)
 * void valuesOfEveryTopic(@ForAll("values") FuzzInput in) { ... }
 * }</pre>
 */
@Target(ElementType.METHOD)
@Retention(RetentionPolicy.RUNTIME)
@AddLifecycleHook(Campaign.Hook.class)
public @interface Campaign {
  /** @return inputs to try in a campaign run */
  int tries();

  /** Sets the tries, times the property and reports its outcomes. */
  final class Hook implements AroundPropertyHook {
    private static boolean started;

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
      Campaign campaign = context.findAnnotation(Campaign.class).orElseThrow();
      Integer override = Integer.getInteger("tagscope.fuzz.tries");
      if (override != null) {
        context.attributes().setTries(override);
      } else if ("campaign".equals(System.getProperty("tagscope.fuzz"))) {
        context.attributes().setTries(campaign.tries());
      }
      // Random inputs always, and no edge cases first: they would take all of a smoke run's tries.
      context.attributes().setGeneration(GenerationMode.RANDOMIZED);
      context.attributes().setEdgeCases(EdgeCasesMode.NONE);
      Outcomes outcomes = Outcomes.start();
      long t0 = System.nanoTime();
      PropertyExecutionResult result = property.execute();
      String report = outcomes.report(context.containerClass().getSimpleName() + "." + context.label(), System.nanoTime() - t0);
      System.out.print(report);
      String file = System.getProperty("tagscope.fuzz.report");
      if (file != null) {
        try {
          Path p = Path.of(file);
          Files.createDirectories(p.toAbsolutePath().getParent());
          // the first property of a test JVM starts the file afresh: it holds the last run's figures
          Files.writeString(p, report, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
              started ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
          started = true;
        } catch (IOException e) {
          throw new UncheckedIOException("cannot append the fuzz report to " + file, e);
        }
      }
      return result;
    }
  }
}
