package dev.tagscope.launcher;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where the JSON report goes and how much of it the console summary shows. */
public final class ReportOptions {
  @Option(names = "--report", defaultValue = "tagscope-report.json", description = "Where to write the JSON report (default ${DEFAULT-VALUE}).")
  Path report;

  @Option(names = "--top", defaultValue = "5", description = "Filters printed per layer (default ${DEFAULT-VALUE}).")
  int top;
}
