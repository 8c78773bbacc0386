package dev.tagscope.validation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.embedded.EmbeddedKafkaBroker;
import dev.tagscope.producer.Image;
import dev.tagscope.producer.ImageLoader;
import dev.tagscope.schemas.LayerValidation;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.schemas.Topics;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.testsupport.ProjectFiles;
import dev.tagscope.testsupport.TopicReads;
import dev.tagscope.worker.AblationModel;
import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.ModelConfig;
import dev.tagscope.worker.Preprocessor;
import dev.tagscope.worker.TappedLayer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The validation on the bundled model, kept small (three layers, 40 images) so it runs in the
 * suite: its bookkeeping against values computed here by other means, the report files, the
 * topic records through a real broker, and the model card's accuracy through the validation path.
 */
class ValidatorTest {
  private static final Path MODEL = ProjectFiles.bundledModel();
  private static final Path DEBIAN_TEST_SET = Path.of("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");

  private static AblationModel model;
  private static List<Image> images;
  private static ValidationResult result;
  private static ValidationSettings settings;

  @TempDir static Path tmp;

  @BeforeAll
  static void run() throws Exception {
    model = AblationModel.load(ModelConfig.of(MODEL).withLayers("conv1,layer2.0,layer3.4").withIntraOpThreads(2));
    images = ImageLoader.builder().limit(40).build().load(ProjectFiles.samples());
    // Chunks of 15 and 50 rows per call: neither divides 40 images nor the filter counts, so the
    // chunk and group bookkeeping is exercised at its edges.
    settings = new ValidationSettings(40, 25, 2, List.of(1), List.of(Reduction.values()), 2, 200, 0.95,
        PruningCurve.defaultFractions(), 15, 50, 5L);
    ProbePlan plan = ProbePlan.builder().model(model.activations().name())
        .layers(model.tappedLayers().stream().map(TappedLayer::name).collect(Collectors.toList()))
        .imageShape(1, 28, 28).imageCount(2).reduction(Reduction.L2).build();
    result = new Validator(model, plan, settings, Validator.Progress.NONE).run(images, images, "models/samples");
  }

  @AfterAll
  static void close() {
    model.close();
  }

  @Test
  void unablatedAccuracyAndLossEqualAPlainForwardPassOnTheSameImages() {
    double[] plain = plainAccuracyAndLoss(images.subList(0, 40));
    assertEquals(plain[0], result.baseAccuracy(), 1e-12);
    assertEquals(plain[1], result.baseCrossEntropy(), 1e-5);
    assertEquals(plainAccuracyAndLoss(images.subList(0, 25))[0], result.curveBaseAccuracy(), 1e-12);
  }

  @Test
  void damageOfAFilterEqualsItsAblationMeasuredInOneBatch() {
    // Filter 7 of layer2.0 ablated on all 40 images in one call, loss and accuracy summed here.
    float[] mask = new float[32];
    Arrays.fill(mask, 1f);
    mask[7] = 0f;
    AblationModel.Upstream up = model.upstream(preprocess(images.subList(0, 40)), 40);
    float[][] logits = model.ablateLayer(up, "layer2.0", new float[][] {mask});
    double ce = 0;
    int correct = 0;
    for (int i = 0; i < 40; i++) {
      ce += Validator.crossEntropy(logits[i], images.get(i).label());
      correct += Validator.argmax(logits[i]) == images.get(i).label() ? 1 : 0;
    }
    ValidationResult.LayerResult l = layer("layer2.0");
    assertEquals(ce / 40 - result.baseCrossEntropy(), l.crossEntropyIncrease()[7], 1e-5);
    assertEquals(result.baseAccuracy() - correct / 40.0, l.accuracyDrop()[7], 1e-12);
  }

  @Test
  void everyLayerHasEveryCriterionAndConsistentAgreement() {
    for (ValidationResult.LayerResult l : result.layers()) {
      for (String c : List.of(Criteria.TAG, Criteria.TAG_FUNDAMENTAL, Criteria.TAG_HARMONIC, Criteria.TAG_IM,
          Criteria.PAPER_SNR, Criteria.MEAN_ACTIVATION, Criteria.WEIGHT_L1, Criteria.CLASS_SELECTIVITY, Criteria.RANDOM,
          "tag@MAX", "tag@MEAN", "tag@MEAN_ABS", "tag/n1")) { // the plan's default reduction is L2
        assertTrue(l.criteria().containsKey(c), l.layer() + " lacks " + c);
        assertEquals(l.filters(), l.criteria().get(c).length);
        assertEquals(Agreement.spearman(l.criteria().get(c), l.crossEntropyIncrease()), l.agreement().get(c).rho(), 1e-12);
      }
      // Class selectivity of rectified means lies in [0, 1].
      for (double v : l.criteria().get(Criteria.CLASS_SELECTIVITY)) {
        assertTrue(v >= 0 && v <= 1, l.layer() + " CSI " + v);
      }
      // The tag score is the sum of its parts.
      for (int k = 0; k < l.filters(); k++) {
        assertEquals(l.criteria().get(Criteria.TAG_FUNDAMENTAL)[k] + l.criteria().get(Criteria.TAG_HARMONIC)[k]
            + l.criteria().get(Criteria.TAG_IM)[k], l.criteria().get(Criteria.TAG)[k], 1e-9);
      }
    }
    // conv1 is one convolution; layer2.0 its last convolution plus the projection shortcut.
    assertEquals("/conv1/Conv", layer("conv1").weightL1Source());
    assertTrue(layer("layer2.0").weightL1Source().contains("shortcut"), layer("layer2.0").weightL1Source());
  }

  @Test
  void pruningCurvesStartAtTheUnablatedAccuracyAndZeroingAllButOneFilterHurts() {
    for (ValidationResult.LayerResult l : result.layers()) {
      List<String> names = l.curves().stream().map(PruningCurve::criterion).collect(Collectors.toList());
      assertEquals(List.of(Criteria.TAG, Criteria.MEAN_ACTIVATION, Criteria.WEIGHT_L1, Criteria.DAMAGE, Criteria.RANDOM), names);
      for (PruningCurve c : l.curves()) {
        assertEquals(result.curveBaseAccuracy(), c.accuracy()[0], 1e-12, l.layer() + " " + c.criterion());
        assertArrayEquals(PruningCurve.defaultFractions(), c.fractions(), 0);
      }
    }
    for (PruningCurve c : result.network()) {
      assertEquals(result.curveBaseAccuracy(), c.accuracy()[0], 1e-12);
    }
    // Zeroing 90 % of every tapped layer at once leaves the network near chance whatever the order.
    PruningCurve random = result.network().stream().filter(c -> c.criterion().equals(Criteria.RANDOM)).findFirst().orElseThrow();
    assertTrue(random.accuracy()[9] < result.curveBaseAccuracy() - 0.3, Arrays.toString(random.accuracy()));
  }

  @Test
  void theReportHoldsTheNumbersAndThePlots() throws Exception {
    Path dir = tmp.resolve("report");
    List<Path> files = ValidationReport.write(result, dir);
    JsonNode json = new ObjectMapper().readTree(dir.resolve("validation.json").toFile());
    assertEquals(result.baseAccuracy(), json.get("baseAccuracy").asDouble(), 0);
    assertEquals(3, json.get("layers").size());
    JsonNode conv1 = json.get("layers").get(0);
    assertEquals("conv1", conv1.get("layer").asText());
    assertEquals(16, conv1.get("perFilter").size());
    assertEquals(layer("conv1").crossEntropyIncrease()[3], conv1.get("perFilter").get(3).get("crossEntropyIncrease").asDouble(), 0);
    assertEquals(layer("conv1").agreement().get(Criteria.TAG).rho(), findCriterion(conv1, Criteria.TAG).get("rho").asDouble(), 0);
    for (Path f : files) {
      assertTrue(Files.size(f) > 0, f.toString());
      if (f.toString().endsWith(".png")) {
        byte[] head = Arrays.copyOf(Files.readAllBytes(f), 4);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, head, f + " is not a PNG");
      }
    }
    assertTrue(Files.exists(dir.resolve("pruning/layer2.0.png")));
    List<String> agreement = Files.readAllLines(dir.resolve("agreement.csv"));
    assertEquals("model,layer,criterion,rho,rho_low,rho_high,rho_accuracy", agreement.get(0));
  }

  @Test
  void recordsReachTheCompactedTopicKeyedModelLayer() throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start()) {
      broker.createTopics();
      assertEquals(4, ValidationRecords.publish(result, Map.of("bootstrap.servers", broker.bootstrapServers())));
      Map<String, LayerValidation> seen = new HashMap<>();
      TopicReads.readCommitted(broker.bootstrapServers(), Topics.VALIDATION, Duration.ofSeconds(30), got -> {
        got.forEach(r -> seen.put(r.key(), r.value()));
        return seen.size() >= 4;
      });
      assertEquals(List.of("fmnist-resnet32/*", "fmnist-resnet32/conv1", "fmnist-resnet32/layer2.0", "fmnist-resnet32/layer3.4"),
          new ArrayList<>(new java.util.TreeSet<>(seen.keySet())));
      LayerValidation l = seen.get("fmnist-resnet32/layer2.0");
      assertEquals(layer("layer2.0").agreement().get(Criteria.TAG).rho(),
          l.getCriteria().stream().filter(a -> a.getCriterion().equals(Criteria.TAG)).findFirst().orElseThrow().getRho(), 0);
      assertEquals(Criteria.TAG, l.getDefaultCriterion());
      assertEquals(result.network().size(), seen.get("fmnist-resnet32/*").getPruning().size());
      assertTrue(seen.get("fmnist-resnet32/*").getCriteria().isEmpty());
    }
    IllegalArgumentException pinned = assertThrows(IllegalArgumentException.class,
        () -> ValidationRecords.publish(result, Map.of("bootstrap.servers", "127.0.0.1:1", "acks", "1")));
    assertTrue(pinned.getMessage().contains("acks"), pinned.getMessage());
  }

  @Test
  void unlabelledImagesAreRefusedNamingTheFix() {
    List<Image> unlabelled = List.of(new Image("x", null, 1, 28, 28, new byte[784]));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Validator.unablated(model, unlabelled, 8));
    assertTrue(e.getMessage().contains("labels file"), e.getMessage());
  }

  /** The model card's 92.77 % on the 10,000 test images, through the validation path, where the Debian package is installed. */
  @Test
  void theModelCardsAccuracyThroughTheValidationPath() throws Exception {
    assumeTrue(Files.isReadable(DEBIAN_TEST_SET), "dataset-fashion-mnist is not installed");
    List<Image> all = ImageLoader.builder().build().load(DEBIAN_TEST_SET);
    assertEquals(10_000, all.size());
    double[] acc = Validator.unablated(model, all, 200);
    System.out.printf("validation path: unablated accuracy %.4f on %d images%n", acc[0], all.size());
    assertEquals(0.9277, acc[0], 1e-9);
  }

  private static JsonNode findCriterion(JsonNode layer, String name) {
    for (JsonNode c : layer.get("criteria")) {
      if (c.get("criterion").asText().equals(name)) {
        return c;
      }
    }
    throw new AssertionError("no criterion " + name);
  }

  private static ValidationResult.LayerResult layer(String name) {
    return result.layers().stream().filter(l -> l.layer().equals(name)).findFirst().orElseThrow();
  }

  private static float[] preprocess(List<Image> set) {
    Preprocessor pre = new Preprocessor(model.activations().preprocessing());
    float[] input = new float[set.size() * pre.inputLength()];
    for (int i = 0; i < set.size(); i++) {
      pre.apply(set.get(i).pixels(), 1, 28, 28, input, i * pre.inputLength());
    }
    return input;
  }

  /** Accuracy and loss from the plain model (no cut, no mask), with the loss written out again here. */
  private static double[] plainAccuracyAndLoss(List<Image> set) {
    try (ActivationModel plain = ActivationModel.load(ModelConfig.of(MODEL).withLayers("conv1").withIntraOpThreads(2))) {
      float[] logits = plain.forward(preprocess(set), set.size()).outputs().get("logits").data();
      int correct = 0;
      double ce = 0;
      for (int i = 0; i < set.size(); i++) {
        int label = set.get(i).label();
        int best = 0;
        double sum = 0;
        for (int c = 0; c < 10; c++) {
          best = logits[i * 10 + c] > logits[i * 10 + best] ? c : best;
          sum += Math.exp(logits[i * 10 + c]);
        }
        correct += best == label ? 1 : 0;
        ce += Math.log(sum) - logits[i * 10 + label];
      }
      return new double[] {correct / (double) set.size(), ce / set.size()};
    }
  }
}
