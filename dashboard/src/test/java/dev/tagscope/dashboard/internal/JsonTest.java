package dev.tagscope.dashboard.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tagscope.dashboard.Fixtures;
import dev.tagscope.schemas.FilterImportance;
import java.util.List;
import org.junit.jupiter.api.Test;

class JsonTest {

  @Test
  void htmlCharactersAreEscapedAndRoundTrip() throws Exception {
    String nasty = "<script>alert('x' & 1)</script>";
    String json = Json.write(new ApiModel.ErrorBody(404, nasty));

    assertEquals("{\"status\":404,\"error\":\"\\u003Cscript\\u003Ealert(\\u0027x\\u0027 \\u0026 1)\\u003C/script\\u003E\"}", json);
    assertEquals(nasty, Json.createMapper().readTree(json).get("error").asText());
  }

  @Test
  void undefinedValidationNumbersBecomeNullInsideListsToo() throws Exception {
    DashboardView view = new DashboardView();
    dev.tagscope.schemas.LayerValidation v = Fixtures.validation("m", "l");
    v.getPruning().get(1).setSpread(List.of(0.0, Double.NaN, 0.125, Double.POSITIVE_INFINITY, 0.0));
    view.acceptValidation("m/l", v);

    String json = Json.write(view.validation("m", "l"));

    assertFalse(json.contains("Infinity") || json.contains("NaN"), json);
    JsonNode body = Json.createMapper().readTree(json);
    assertEquals(true, body.get("criteria").get(3).get("rho").isNull());
    assertEquals(true, body.get("pruning").get(1).get("spread").get(1).isNull());
    assertEquals(true, body.get("pruning").get(1).get("spread").get(3).isNull());
    assertEquals(0.125, body.get("pruning").get(1).get("spread").get(2).asDouble());
  }

  @Test
  void nonFiniteNumbersBecomeNull() throws Exception {
    DashboardView view = new DashboardView();
    FilterImportance f = FilterImportance.newBuilder(Fixtures.filter(0, 1, 1.0, 1, 0, 0))
        .setMeanSnr(Double.POSITIVE_INFINITY).setPaperSnrDb(Double.NaN).build();
    view.acceptImportance("m/l", Fixtures.importance("m", "l", 1, List.of(f)));

    String json = Json.write(view.importance("m", "", "l"));

    assertFalse(json.contains("Infinity") || json.contains("NaN"), json);
    JsonNode row = Json.createMapper().readTree(json).get("filters").get(0);
    assertEquals(true, row.get("meanSnr").isNull());
    assertEquals(true, row.get("paperSnrDb").isNull());
    assertEquals(1.0, row.get("score").asDouble());
  }
}
