package dev.tagscope.spectral.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tagscope.schemas.TopExample;
import dev.tagscope.schemas.TopExamples;
import dev.tagscope.schemas.Topics;
import dev.tagscope.spectral.SpectralSettings;
import java.util.List;
import org.junit.jupiter.api.Test;

class TopExamplesMathTest {
  private static TopExamples image(String probe, String image, double... means) {
    return TopExamplesMath.ofImage("m", "v", "l", 2, probe, image, 10, means);
  }

  private static List<String> ids(TopExamples t, int filter) {
    return t.getFilters().get(filter).getExamples().stream().map(e -> e.getImageId() + "=" + e.getActivation()).toList();
  }

  @Test
  void theSameImageFoldedAgainReplacesItsEntryInsteadOfTakingASecondPlace() {
    TopExamples kept = TopExamplesMath.merge(null, image("p", "a", 5.0), 2);
    kept = TopExamplesMath.merge(kept, image("p", "b", 3.0), 2);
    kept = TopExamplesMath.merge(kept, image("p", "a", 1.0), 2); // the probe published again: a's new numbers
    assertEquals(List.of("b=3.0", "a=1.0"), ids(kept, 0));
    assertEquals(3, kept.getImagesSeen());
    kept = TopExamplesMath.merge(kept, image("p", "c", 2.0), 2);
    assertEquals(List.of("b=3.0", "c=2.0"), ids(kept, 0), "k = 2: the lowest goes");
  }

  @Test
  void aFullSetOfTheLargestKFor64FiltersStaysWellUnderOneMegabyte() {
    int k = SpectralSettings.MAX_TOP_EXAMPLES;
    String probe = "probe-" + "x".repeat(34); // 40 characters, as long as a UUID-based id
    TopExamples kept = null;
    for (int i = 0; i < k; i++) {
      double[] means = new double[64];
      java.util.Arrays.fill(means, i);
      kept = TopExamplesMath.merge(kept, TopExamplesMath.ofImage("fmnist-resnet32", "sha256:3f2a9c01b7de", "layer3.4", k, probe,
          "inference.requests-11@" + (1_000_000_000L + i), 240, means), k);
    }
    for (var f : kept.getFilters()) {
      assertEquals(k, f.getExamples().size());
      assertEquals((double) k - 1, f.getExamples().get(0).getActivation(), 0.0, "highest first");
    }
    int bytes = Topics.TOP_EXAMPLES.valueSerde().serializer().serialize(Topics.TOP_EXAMPLES.name(), kept).length;
    System.out.printf("top examples: 64 filters x %d examples = %d bytes%n", k, bytes);
    assertTrue(bytes < 512 * 1024, "64 filters x " + k + " examples: " + bytes + " bytes");
  }

  @Test
  void orderIsHighestActivationFirstThenProbeIdThenImageId() {
    List<TopExample> l = new java.util.ArrayList<>(List.of(ex("q", "a", 1), ex("p", "b", 1), ex("p", "a", 1), ex("z", "z", 2)));
    l.sort(TopExamplesMath.ORDER);
    assertEquals(List.of("z/z", "p/a", "p/b", "q/a"), l.stream().map(e -> e.getProbeId() + "/" + e.getImageId()).toList());
  }

  private static TopExample ex(String p, String i, double a) {
    return TopExample.newBuilder().setProbeId(p).setImageId(i).setActivation(a).setFrames(1).build();
  }
}
