package dev.tagscope.launcher;

import picocli.CommandLine.Command;
import picocli.CommandLine;

/**
 * The {@code tagscope} command: the all-in-one demo on an embedded broker, each service on its
 * own against an external cluster, and the offline analysis of recorded series.
 *
 * <p>Exit codes: 0 success, 1 a run failed, 2 bad usage or configuration (picocli's convention;
 * the message names the option and the fix).
 */
@Command(name = "tagscope", mixinStandardHelpOptions = true, versionProvider = TagscopeCommand.Version.class,
    description = "Frequency tagging of convolutional networks, streamed on Kafka.",
    subcommands = {DemoCommand.class, ProducerCommand.class, WorkerCommand.class, SpectralCommand.class,
        DashboardCommand.class, AnalyzeCommand.class, ValidateCommand.class, VisualizeCommand.class, TopicsCommand.class, BenchCommand.class,
        CommandLine.HelpCommand.class})
public final class TagscopeCommand implements Runnable {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a command, e.g. `tagscope demo`");
  }

  /** The command-line option that sets each plan field a {@link dev.tagscope.tagging.PlanException} can name. */
  static final java.util.Map<String, String> OPTION_OF_PLAN_FIELD = java.util.Map.ofEntries(
      java.util.Map.entry("baselineBins", "--baseline-bins"),
      java.util.Map.entry("fps", "--fps"),
      java.util.Map.entry("framesPerImage", "--frames-per-image"),
      java.util.Map.entry("frequencies", "--freqs"),
      java.util.Map.entry("hopFrames", "--hop"),
      java.util.Map.entry("imageCount", "--count"),
      java.util.Map.entry("layers", "--layers"),
      java.util.Map.entry("layout", "--layout"),
      java.util.Map.entry("maxHarmonic", "--harmonics"),
      java.util.Map.entry("maxImOrder", "--im-order"),
      java.util.Map.entry("model", "--model-name"),
      java.util.Map.entry("phases", "--phases"),
      java.util.Map.entry("probeId", "--probe-id"),
      java.util.Map.entry("reduction", "--reduction"),
      java.util.Map.entry("windowFrames", "--window"));

  /**
   * Entry point.
   *
   * @param args command-line arguments
   */
  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** @return the configured command line, also used by the tests */
  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new TagscopeCommand());
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
      if (ex instanceof IllegalArgumentException || ex instanceof java.nio.file.NoSuchFileException) {
        // Bad plans, configurations and paths: the message names the field (or file) and the fix.
        // NoSuchFileException's message is the bare path ("tagscope: x.csv"), so say what is wrong with it.
        String msg = ex instanceof java.nio.file.NoSuchFileException ? "no such file: " + ex.getMessage() : ex.getMessage();
        if (ex instanceof dev.tagscope.tagging.PlanException pe && OPTION_OF_PLAN_FIELD.containsKey(pe.field())) {
          msg = OPTION_OF_PLAN_FIELD.get(pe.field()) + " (" + msg + ")"; // the plan's field name, then the option to change
        }
        commandLine.getErr().println(commandLine.getColorScheme().errorText("tagscope: " + msg));
        return 2;
      }
      if (ex instanceof org.apache.kafka.common.config.ConfigException) {
        // A bad --kafka KEY=VALUE: Kafka's message names the property and the allowed values.
        commandLine.getErr().println(commandLine.getColorScheme().errorText("tagscope: --kafka: " + ex.getMessage()));
        return 2;
      }
      if (ex instanceof java.io.IOException || ex instanceof IllegalStateException) {
        // A file that cannot be read or a stage that failed: say what, without a stack trace.
        commandLine.getErr().println(commandLine.getColorScheme().errorText("tagscope: " + ex.getMessage()));
        return 1;
      }
      throw ex;
    });
    return cl;
  }

  /** Version from the launcher jar's manifest, or "dev" in an IDE. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = TagscopeCommand.class.getPackage().getImplementationVersion();
      return new String[] {"tagscope " + (v == null ? "0.1.0-SNAPSHOT" : v)};
    }
  }
}
