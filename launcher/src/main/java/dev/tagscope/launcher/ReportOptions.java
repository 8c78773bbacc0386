package dev.tagscope.launcher;

import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Where the JSON report goes and how much of it the console summary shows. */
public final class ReportOptions {
  @Spec(Spec.Target.MIXEE)
  CommandSpec spec;

  @Option(names = "--report", defaultValue = "tagscope-report.json", description = "Where to write the JSON report (default ${DEFAULT-VALUE}).")
  Path report;

  int top = 5;

  /** @param n filters printed per layer; a usage error (exit 2) below 1, which would print nothing */
  @Option(names = "--top", defaultValue = "5", description = "Filters printed per layer, at least 1 (default ${DEFAULT-VALUE}).")
  void top(int n) {
    if (n < 1) {
      throw new ParameterException(spec.commandLine(), "--top must be at least 1, got " + n);
    }
    top = n;
  }
}
