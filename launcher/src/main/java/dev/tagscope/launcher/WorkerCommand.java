package dev.tagscope.launcher;

import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.InferenceWorker;
import dev.tagscope.worker.WorkerSettings;
import java.util.concurrent.Callable;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tagscope worker}: the inference worker against an external cluster. */
@Command(name = "worker", mixinStandardHelpOptions = true,
    description = "Run the model on stimulus frames and publish one activation record per tapped layer per frame "
        + "(exactly once: activations and consumer offsets commit in one transaction).")
final class WorkerCommand implements Callable<Integer> {
  @Mixin KafkaOptions kafka;
  @Mixin ModelOptions model;
  @Mixin MetricsOptions metrics;
  @Mixin ModelWatchOptions watch;

  @Option(names = "--list-layers", description = "Print the tappable layers of --model (defaults marked *) and exit.")
  boolean listLayers;

  @Option(names = "--group-id",
      description = "Consumer group; instances in one group share the stimuli partitions (default: "
          + WorkerSettings.DEFAULT_GROUP_ID + ".<model name>, one group per model, since a worker skips other models' probes).")
  String groupId;

  @Option(names = "--instance-id", description = "Stable id of this instance (e.g. the pod name), so a restart fences its predecessor at once (default: random).")
  String instanceId;

  @Override
  public Integer call() throws Exception {
    if (listLayers) {
      System.out.print(ActivationModel.layerTable(ActivationModel.listLayers(model.modelPath(ModelOptions.home()), model.engine())));
      return 0;
    }
    WorkerSettings settings = watch.apply(model.settings(ModelOptions.home(), kafka.overrides())
        .withGroupId(groupId).withInstanceId(instanceId));
    String bootstrap = kafka.required();
    // Ctrl-C waits until the worker has closed (its transaction settled).
    try (ServiceRunner runner = ServiceRunner.install()) {
      InferenceWorker worker = runner.start(new InferenceWorker(bootstrap, settings, metrics.registry()), Duration.ofMinutes(2));
      System.out.println("worker: model " + worker.model().name() + " version " + worker.model().version() + ", "
          + worker.model().tappedLayers().size()
          + " layers, consuming from " + bootstrap + "  (Ctrl-C to stop)");
      return runner.awaitEnd();
    } finally {
      metrics.close();
    }
  }
}
