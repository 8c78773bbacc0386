package dev.tagscope.worker.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tagscope.producer.Image;
import dev.tagscope.producer.ImageLoader;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.testsupport.ProjectFiles;
import dev.tagscope.validation.Criteria;
import dev.tagscope.validation.PruningCurve;
import dev.tagscope.validation.TaylorCriterion;
import dev.tagscope.validation.ValidationReport;
import dev.tagscope.validation.ValidationResult;
import dev.tagscope.validation.ValidationSettings;
import dev.tagscope.validation.Validator;
import dev.tagscope.worker.AblationModel;
import dev.tagscope.worker.ModelConfig;
import dev.tagscope.worker.TappedLayer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * (d) The Taylor criterion end to end: {@code Validator} with {@link TaylorCriterion#open} on the
 * bundled ONNX model (which finds {@code fmnist-resnet32.pt} beside it and checks its source
 * digest) against {@code models/fmnist-resnet32.taylor-reference.json}, written by
 * {@code tools/taylor_reference.py}: torch autograd in float64 on the node-by-node module, with the
 * gradient of each tapped tensor read by {@code retain_grad()} rather than through gates, on the
 * same first 32 sample images.
 */
class TaylorReferenceTest {
  private static final Path ONNX = ProjectFiles.bundledModel();
  private static final Path REFERENCE = ONNX.resolveSibling("fmnist-resnet32.taylor-reference.json");

  /**
   * Per filter within 1e-5 of the layer's largest T_c plus 1e-4 of its own value: the Java side runs
   * in float32, the reference in float64 (measured: at most 5.3e-7 of the layer's largest).
   */
  @Test
  void theValidatorsTaylorCriterionEqualsFloat64AutogradOnTheSameImages() throws Exception {
    JsonNode ref = new ObjectMapper().readTree(Files.readAllBytes(REFERENCE));
    int count = ref.get("count").asInt();
    Map<String, double[]> want = new HashMap<>();
    for (JsonNode l : ref.get("layers")) {
      double[] v = new double[l.get("taylor").size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = l.get("taylor").get(i).asDouble();
      }
      want.put(l.get("tensor").asText(), v);
    }
    ModelConfig config = ModelConfig.of(ONNX).withLayers("conv1,layer2.0,layer3.4").withIntraOpThreads(2);
    List<Image> images = ImageLoader.builder().limit(count).build().load(ProjectFiles.samples());
    // Chunks of 12 images: the sums run over three batches, the last one short.
    ValidationSettings settings = new ValidationSettings(count, 8, 1, List.of(), List.of(Reduction.MEAN), 1, 50, 0.95,
        PruningCurve.defaultFractions(), 12, 256, 5L);
    ValidationResult r;
    try (AblationModel m = AblationModel.load(config); TaylorCriterion t = TaylorCriterion.open(config)) {
      assertTrue(t.available(), t.note());
      ProbePlan plan = ProbePlan.builder().model(m.activations().name())
          .layers(m.tappedLayers().stream().map(TappedLayer::name).collect(Collectors.toList()))
          .imageShape(1, 28, 28).imageCount(1).reduction(Reduction.MEAN).build();
      r = new Validator(m, plan, settings, Validator.Progress.NONE, t).run(images, images, "models/samples");
      assertTrue(r.taylor().startsWith("computed with DJL autograd on "), r.taylor());
      assertTrue(r.seconds().containsKey("taylor"));
      double worst = 0;
      for (int i = 0; i < m.tappedLayers().size(); i++) {
        TappedLayer tap = m.tappedLayers().get(i);
        ValidationResult.LayerResult l = r.layers().get(i);
        double[] expected = want.get(tap.info().tensorName());
        double[] got = l.criteria().get(Criteria.TAYLOR);
        assertEquals(expected.length, got.length, tap.name());
        double max = java.util.Arrays.stream(expected).max().orElseThrow();
        assertTrue(max > 0, tap.name() + ": the reference is not all 0");
        for (int c = 0; c < got.length; c++) {
          assertEquals(expected[c], got[c], 1e-5 * max + 1e-4 * expected[c], tap.name() + " filter " + c);
          worst = Math.max(worst, Math.abs(expected[c] - got[c]) / max);
        }
        // The criterion takes part like the others: an agreement with the damage, a curve, rho with tag.
        assertTrue(l.agreement().containsKey(Criteria.TAYLOR), tap.name());
        assertTrue(l.curves().stream().anyMatch(c -> c.criterion().equals(Criteria.TAYLOR)), tap.name());
        assertTrue(!Double.isNaN(ValidationReport.tagVsTaylor(l)), tap.name());
      }
      assertTrue(r.network().stream().anyMatch(c -> c.criterion().equals(Criteria.TAYLOR)), "network curve");
      System.out.printf("Taylor criterion vs float64 autograd, %d images, 3 layers: max diff %.3g of the layer's largest%n",
          count, worst);
    }
  }

  @Test
  void withoutATwinTheCriterionIsSkippedAndTheReportSaysWhy(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
    Path lone = tmp.resolve("lone.onnx");
    Files.copy(ONNX, lone);
    try (TaylorCriterion t = TaylorCriterion.open(ModelConfig.of(lone))) {
      assertTrue(!t.available());
      assertTrue(t.note().startsWith("skipped: no TorchScript twin "), t.note());
      assertTrue(t.note().contains("tools/torchscript_export.py"), t.note());
    }
    // A twin of other weights: the bundled .pt beside a copy of the ONNX file with one byte changed.
    Path other = tmp.resolve("other.onnx");
    byte[] b = Files.readAllBytes(ONNX);
    b[b.length - 1] ^= 1;
    Files.write(other, b);
    Files.copy(ONNX.resolveSibling("fmnist-resnet32.pt"), tmp.resolve("other.pt"));
    try (TaylorCriterion t = TaylorCriterion.open(ModelConfig.of(other))) {
      assertTrue(!t.available());
      assertTrue(t.note().contains("was exported from other weights"), t.note());
    }
  }
}
