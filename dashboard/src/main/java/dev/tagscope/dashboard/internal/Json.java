package dev.tagscope.dashboard.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * The dashboard's JSON writer. Names come from models and users (probe ids, model, layer and
 * region names), so the output is HTML-safe: {@code <}, {@code >}, {@code &} and {@code '}
 * are written as JSON unicode escapes (backslash, {@code u003C} and so on). A string such as
 * {@code <script>alert(1)</script>} therefore never appears verbatim in a response body, even
 * if a browser were tricked into reading one as HTML; the page still gets the original string
 * back from {@code JSON.parse}.
 */
public final class Json {
  private static final ObjectMapper MAPPER = createMapper();

  private Json() {}

  /** @return a new mapper configured like the one the dashboard writes with */
  public static ObjectMapper createMapper() {
    ObjectMapper m = new ObjectMapper();
    m.getFactory().setCharacterEscapes(new HtmlSafeEscapes());
    m.disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
    return m;
  }

  /**
   * @param value a record of {@link ApiModel}, a list or a map
   * @return its JSON text
   * @throws IllegalStateException when Jackson cannot write it (a programming error)
   */
  public static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write JSON for " + value.getClass().getSimpleName(), e);
    }
  }

  private static final class HtmlSafeEscapes extends CharacterEscapes {
    private static final long serialVersionUID = 1L;
    private final int[] escapes;

    HtmlSafeEscapes() {
      escapes = CharacterEscapes.standardAsciiEscapesForJSON();
      escapes['<'] = CharacterEscapes.ESCAPE_STANDARD;
      escapes['>'] = CharacterEscapes.ESCAPE_STANDARD;
      escapes['&'] = CharacterEscapes.ESCAPE_STANDARD;
      escapes['\''] = CharacterEscapes.ESCAPE_STANDARD;
    }

    @Override
    public int[] getEscapeCodesForAscii() {
      return escapes;
    }

    @Override
    public SerializableString getEscapeSequence(int ch) {
      return null; // only standard escapes are used
    }
  }
}
