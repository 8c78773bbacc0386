package dev.tagscope.tagging;

/**
 * A tagging or analysis plan that cannot be measured as asked: a tag frequency off the FFT bin
 * grid, a signal component at or above Nyquist, two components on one bin, a bad window.
 *
 * <p>The message always starts with the offending field and says what to change, e.g.
 * {@code "windowFrames: 6 Hz and 7.5 Hz are not on exact bins of a 100-frame window at 120 fps;
 * W must be a multiple of 80 frames at 120 fps for 6 and 7.5 Hz (e.g. 160 or 240)"}.
 */
public final class PlanException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String field;

  /**
   * @param field the plan field to change, e.g. {@code "frequencies"}, {@code "fps"},
   *     {@code "windowFrames"}, {@code "maxHarmonic"}, {@code "maxImOrder"}
   * @param message what is wrong and how to fix it
   */
  public PlanException(String field, String message) {
    super(field + ": " + message);
    this.field = field;
  }

  /**
   * @return the plan field whose value must change, e.g. {@code "windowFrames"}
   */
  public String field() {
    return field;
  }
}
