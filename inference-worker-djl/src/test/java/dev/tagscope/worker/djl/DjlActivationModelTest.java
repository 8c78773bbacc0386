package dev.tagscope.worker.djl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.producer.Image;
import dev.tagscope.producer.ImageLoader;
import dev.tagscope.schemas.FilterImportance;
import dev.tagscope.schemas.Reduction;
import dev.tagscope.tagging.ProbePlan;
import dev.tagscope.tagging.spectral.LayerAccumulator;
import dev.tagscope.testsupport.ProjectFiles;
import dev.tagscope.validation.Agreement;
import dev.tagscope.validation.TagProbe;
import dev.tagscope.worker.ActivationModel;
import dev.tagscope.worker.FloatTensor;
import dev.tagscope.worker.LayerInfo;
import dev.tagscope.worker.ModelConfig;
import dev.tagscope.worker.ModelVersion;
import dev.tagscope.worker.OnnxActivationModel;
import dev.tagscope.worker.Preprocessor;
import dev.tagscope.worker.TappedLayer;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DJL backend against ONNX Runtime on the bundled model: {@code models/fmnist-resnet32.pt} is
 * the TorchScript export of {@code models/fmnist-resnet32.onnx} ({@code tools/torchscript_export.py}),
 * so every tapped activation must agree with ONNX Runtime's to float rounding, on real Fashion-MNIST
 * test images, and a probe must rank the filters alike.
 */
class DjlActivationModelTest {
  private static final Path ONNX = ProjectFiles.bundledModel();
  private static final Path PT = ONNX.resolveSibling("fmnist-resnet32.pt");
  /** Max abs difference allowed between the engines' activations (issue 10). */
  private static final double TOLERANCE = 1e-4;
  private static final int IMAGES = 64;

  private static ActivationModel onnx;
  private static ActivationModel djl;
  private static float[] input;

  @TempDir static Path tmp;

  @BeforeAll
  static void load() throws Exception {
    onnx = ActivationModel.load(ModelConfig.of(ONNX).withIntraOpThreads(2));
    djl = ActivationModel.load(ModelConfig.of(PT).withIntraOpThreads(2));
    List<Image> images = ImageLoader.builder().limit(IMAGES).build().load(ProjectFiles.samples());
    Preprocessor pre = new Preprocessor(onnx.preprocessing());
    input = new float[IMAGES * pre.inputLength()];
    for (int i = 0; i < IMAGES; i++) {
      Image im = images.get(i);
      pre.apply(im.pixels(), im.channels(), im.height(), im.width(), input, i * pre.inputLength());
    }
  }

  @AfterAll
  static void close() {
    onnx.close();
    djl.close();
  }

  @Test
  void aPtFileIsRunByDjlWithTheOnnxModelsNameCardLayersAndTaps() {
    assertInstanceOf(DjlActivationModel.class, djl, ".pt chooses engine djl");
    assertInstanceOf(OnnxActivationModel.class, onnx, ".onnx chooses engine onnx");
    assertEquals("fmnist-resnet32", djl.name(), "from the shared card models/fmnist-resnet32.json");
    assertEquals(onnx.preprocessing(), djl.preprocessing());
    assertEquals(onnx.classes(), djl.classes());
    assertEquals(onnx.listLayers(), djl.listLayers());
    assertEquals(ActivationModel.listLayers(ONNX), ActivationModel.listLayers(PT), "listed without starting PyTorch");
    assertEquals(onnx.tappedLayers(), djl.tappedLayers());
    assertEquals(16, djl.tappedLayers().size());
    assertEquals("conv1", djl.tappedLayers().get(0).name());
    assertEquals("layer3.4", djl.tappedLayers().get(15).name());
    // The same weights, one version: the digest of the ONNX file the twin was exported from (its card has none).
    assertEquals(ModelVersion.digest(ONNX), djl.version());
    assertEquals(onnx.version(), djl.version());
  }

  /**
   * Every default tap, every reduction, 64 real Fashion-MNIST test images in two batches of 32.
   * MEAN, MAX and MEAN_ABS: the largest absolute difference stays within 1e-4, where the values
   * reach 6 to 15 (measured: 2e-6 to 4e-6, a relative 3e-7, the rounding of two float32 kernels
   * summing in different orders). L2 is a sum over up to 784 positions, not a mean, and reaches
   * 63: it is held to 1e-4 relative to each value's magnitude (at least 1) instead.
   */
  @Test
  void reducedActivationsOfEveryDefaultTapEqualOnnxRuntimesWithin1em4() {
    for (Reduction r : Reduction.values()) {
      double worst = 0;
      double scale = 0;
      for (int start = 0; start < IMAGES; start += 32) {
        float[] batch = java.util.Arrays.copyOfRange(input, start * 784, (start + 32) * 784);
        Map<String, float[][]> a = onnx.run(batch, 32, r);
        Map<String, float[][]> b = djl.run(batch, 32, r);
        assertEquals(a.keySet(), b.keySet());
        for (String layer : a.keySet()) {
          for (int i = 0; i < 32; i++) {
            assertEquals(a.get(layer)[i].length, b.get(layer)[i].length);
            for (int c = 0; c < a.get(layer)[i].length; c++) {
              double x = a.get(layer)[i][c];
              double diff = Math.abs(x - b.get(layer)[i][c]);
              worst = Math.max(worst, r == Reduction.L2 ? diff / Math.max(1, Math.abs(x)) : diff);
              scale = Math.max(scale, Math.abs(x));
            }
          }
        }
      }
      String measure = r == Reduction.L2 ? "max relative diff" : "max abs diff";
      System.out.printf("DJL vs ONNX Runtime, %s, 16 taps, %d images: %s %.3g, max |value| %.3g%n",
          r, IMAGES, measure, worst, scale);
      assertTrue(worst <= TOLERANCE, r + ": " + measure + " " + worst + " (values up to " + scale + ")");
      assertTrue(scale > 1, r + ": the activations are not trivially small");
    }
  }

  @Test
  void fullFeatureMapsAndLogitsEqualOnnxRuntimesWithin1em4() {
    ActivationModel.Forward a = onnx.forward(input, 32);
    ActivationModel.Forward b = djl.forward(input, 32);
    assertEquals(a.layers().keySet(), b.layers().keySet());
    assertEquals(a.outputs().keySet(), b.outputs().keySet());
    assertEquals(List.of("logits"), List.copyOf(b.outputs().keySet()));
    for (String layer : a.layers().keySet()) {
      assertMaxAbsDiff(layer, a.layers().get(layer), b.layers().get(layer));
    }
    assertMaxAbsDiff("logits", a.outputs().get("logits"), b.outputs().get("logits"));
  }

  /**
   * A short probe (2 images x 240 frames, the default plan: 6 / 7.5 Hz halves, MEAN) through the
   * offline path {@code tagscope validate} uses ({@link TagProbe}: frame synthesis, preprocessing,
   * reduction, spectral core) on each engine. Asserted per layer: the same top-5 filters in the same
   * order, and Spearman rho of the scores over all filters of at least 0.999. Not the whole order:
   * filters whose scores lie within float rounding of each other (1e-6 of the layer's best) may swap.
   */
  @Test
  void aProbeThroughEitherEngineRanksTheSameFilters() throws Exception {
    List<Image> images = ImageLoader.builder().limit(2).build().load(ProjectFiles.samples());
    ProbePlan plan = ProbePlan.builder().model(onnx.name())
        .layers(onnx.tappedLayers().stream().map(TappedLayer::name).collect(Collectors.toList()))
        .imageShape(1, 28, 28).imageCount(images.size()).reduction(Reduction.MEAN).build();
    Map<String, LayerAccumulator> a = probe(onnx, plan, images);
    Map<String, LayerAccumulator> b = probe(djl, plan, images);
    assertEquals(a.keySet(), b.keySet());
    for (String layer : a.keySet()) {
      List<FilterImportance> x = a.get(layer).importance();
      List<FilterImportance> y = b.get(layer).importance();
      assertEquals(topFilters(x, 5), topFilters(y, 5), layer + ": top-5 filters");
      double rho = Agreement.spearman(scores(x), scores(y));
      assertTrue(rho >= 0.999, layer + ": Spearman rho " + rho);
    }
  }

  @Test
  void engineOptionOverridesTheExtensionAndABadOneNamesTheFix() {
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> ModelConfig.of(PT).withEngine("torch"));
    assertTrue(bad.getMessage().contains("engine must be 'onnx' or 'djl', got 'torch'"), bad.getMessage());
    assertTrue(bad.getMessage().contains(".pt: djl"), bad.getMessage());
    assertEquals(ModelConfig.DJL, ModelConfig.of(PT).withEngine("DJL").engine());
    // ONNX Runtime asked for a TorchScript file: refused as not ONNX.
    IllegalArgumentException notOnnx = assertThrows(IllegalArgumentException.class,
        () -> ActivationModel.load(ModelConfig.of(PT).withEngine(ModelConfig.ONNX)));
    assertTrue(notOnnx.getMessage().contains("is not an ONNX model"), notOnnx.getMessage());
    // DJL asked for an ONNX file: refused as not TorchScript.
    IllegalArgumentException notPt = assertThrows(IllegalArgumentException.class,
        () -> ActivationModel.load(ModelConfig.of(ONNX).withEngine(ModelConfig.DJL)));
    assertTrue(notPt.getMessage().contains("tools/torchscript_export.py"), notPt.getMessage());
  }

  @Test
  void aTorchScriptFileWithoutTagscopesExtraFilesIsRefusedWithTheExportCommand() throws Exception {
    Path plain = tmp.resolve("plain.pt");
    try (OutputStream out = Files.newOutputStream(plain); ZipOutputStream zip = new ZipOutputStream(out)) {
      zip.putNextEntry(new ZipEntry("plain/data.pkl"));
      zip.write(new byte[] {1, 2, 3});
      zip.closeEntry();
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> ActivationModel.load(ModelConfig.of(plain)));
    assertTrue(e.getMessage().contains("without Tagscope's extra files tagscope.json"), e.getMessage());
    assertTrue(e.getMessage().contains("tools/torchscript_export.py"), e.getMessage());
  }

  @Test
  void aLayerSelectionPicksTheSameLayersOnBothEngines() {
    try (ActivationModel a = ActivationModel.load(ModelConfig.of(ONNX).withLayers("glob:layer3.*,logits").withIntraOpThreads(2));
         ActivationModel b = ActivationModel.load(ModelConfig.of(PT).withLayers("glob:layer3.*,logits").withIntraOpThreads(2))) {
      assertEquals(a.tappedLayers(), b.tappedLayers());
      TappedLayer logits = b.tappedLayers().get(b.tappedLayers().size() - 1);
      assertEquals(10, logits.channels());
      assertEquals(false, logits.spatial(), "[N,10] taken as-is");
      float[][] x = a.run(input, 4, Reduction.MAX).get(logits.name());
      float[][] y = b.run(input, 4, Reduction.MAX).get(logits.name());
      for (int i = 0; i < 4; i++) {
        assertArrayEquals(x[i], y[i], (float) TOLERANCE);
      }
    }
  }

  private static Map<String, LayerAccumulator> probe(ActivationModel m, ProbePlan plan, List<Image> images) {
    return new TagProbe(m, plan, List.of(Reduction.MEAN)).run(images, List.of(), done -> { })
        .get(images.size()).get(Reduction.MEAN);
  }

  private static List<Integer> topFilters(List<FilterImportance> ranking, int k) {
    return ranking.stream().sorted(Comparator.comparingInt(FilterImportance::getRank)).limit(k)
        .map(FilterImportance::getFilter).collect(Collectors.toList());
  }

  private static double[] scores(List<FilterImportance> ranking) {
    return ranking.stream().sorted(Comparator.comparingInt(FilterImportance::getFilter))
        .mapToDouble(FilterImportance::getScore).toArray();
  }

  private static void assertMaxAbsDiff(String what, FloatTensor a, FloatTensor b) {
    assertArrayEquals(a.shape(), b.shape(), what);
    double worst = 0;
    for (int i = 0; i < a.data().length; i++) {
      worst = Math.max(worst, Math.abs(a.data()[i] - b.data()[i]));
    }
    assertTrue(worst <= TOLERANCE, what + ": max abs diff " + worst);
  }
}
