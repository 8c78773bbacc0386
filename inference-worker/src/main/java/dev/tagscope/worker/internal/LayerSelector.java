package dev.tagscope.worker.internal;

import dev.tagscope.worker.LayerInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Collectors;

/**
 * Resolves a layer selection ({@code --layers}) against a model's tappable tensors.
 *
 * <p>Grammar: a comma list of items; an item is {@code default} (the default taps), a layer
 * label, a node name, a tensor name, {@code glob:PATTERN} ({@code *} any run of characters,
 * {@code ?} one character) or {@code regex:PATTERN} (Java regex, whole-string match). Patterns
 * are matched against label, node name and tensor name. The result is in graph order without
 * duplicates. An exact name may also name an activation that is not listed (one of another rank,
 * see {@link OnnxGraph#hiddenLayers()}), so that loading the model refuses it with its shape.
 */
public final class LayerSelector {
  private LayerSelector() {}

  /**
   * Resolves a selection.
   *
   * @param spec the selection; {@code null} or blank means {@code default}
   * @param layers all tappable layers in graph order
   * @return the selected layers in graph order
   * @throws IllegalArgumentException when a name is unknown or a pattern matches nothing or is
   *     invalid; the message lists close matches and points to {@code --list-layers}
   */
  public static List<LayerInfo> select(String spec, List<LayerInfo> layers) {
    return select(spec, layers, List.of());
  }

  /**
   * Resolves a selection where an exact name may also name an unlisted layer.
   *
   * @param spec the selection; {@code null} or blank means {@code default}
   * @param layers all tappable layers in graph order
   * @param hidden layers that {@code --list-layers} does not show and patterns do not match, but an
   *     exact label, node name or tensor name selects (see {@link OnnxGraph#hiddenLayers()})
   * @return the selected layers, listed ones in graph order, then hidden ones in graph order
   * @throws IllegalArgumentException when a name is unknown or a pattern matches nothing or is
   *     invalid; the message lists close matches and points to {@code --list-layers}
   */
  public static List<LayerInfo> select(String spec, List<LayerInfo> layers, List<LayerInfo> hidden) {
    if (spec == null || spec.isBlank()) {
      spec = "default";
    }
    Set<LayerInfo> chosen = new LinkedHashSet<>();
    for (String raw : spec.split(",")) {
      String item = raw.trim();
      if (item.isEmpty()) {
        continue;
      }
      List<LayerInfo> matched = match(item, layers);
      if (matched.isEmpty() && item.equalsIgnoreCase("default")) {
        throw new IllegalArgumentException("this model has no default taps (no convolution producing an [N,C,H,W]"
            + " feature map and no residual block); choose layers with --layers (see tagscope worker --list-layers)");
      }
      if (matched.isEmpty() && !isPattern(item)) {
        matched = match(item, hidden);
      }
      if (matched.isEmpty()) {
        throw new IllegalArgumentException(unknownMessage(item, layers));
      }
      chosen.addAll(matched);
    }
    if (chosen.isEmpty()) {
      throw new IllegalArgumentException("--layers '" + spec + "' selects no layer; use 'default' or a comma list of"
          + " layer names (see tagscope worker --list-layers)");
    }
    List<LayerInfo> ordered = new ArrayList<>();
    for (List<LayerInfo> list : List.of(layers, hidden)) {
      for (LayerInfo l : list) {
        if (chosen.contains(l)) {
          ordered.add(l);
        }
      }
    }
    return ordered;
  }

  private static boolean isPattern(String item) {
    return item.startsWith("glob:") || item.startsWith("regex:");
  }

  /**
   * The layers one item names.
   *
   * @param item one selection item
   * @param layers all layers
   * @return matches, empty when none
   * @throws IllegalArgumentException when a regex does not compile
   */
  public static List<LayerInfo> match(String item, List<LayerInfo> layers) {
    if (item.equalsIgnoreCase("default")) {
      return layers.stream().filter(LayerInfo::defaultTap).collect(Collectors.toList());
    }
    Pattern p = null;
    if (item.startsWith("glob:")) {
      p = Pattern.compile(globToRegex(item.substring(5)));
    } else if (item.startsWith("regex:")) {
      try {
        p = Pattern.compile(item.substring(6));
      } catch (PatternSyntaxException e) {
        throw new IllegalArgumentException("--layers item '" + item + "' is not a valid regular expression: "
            + e.getDescription(), e);
      }
    }
    List<LayerInfo> out = new ArrayList<>();
    for (LayerInfo l : layers) {
      boolean hit = p == null ? l.isNamed(item)
          : p.matcher(l.label()).matches() || p.matcher(l.nodeName()).matches() || p.matcher(l.tensorName()).matches();
      if (hit) {
        out.add(l);
      }
    }
    return out;
  }

  /**
   * A glob as a whole-string regex: {@code *} any characters, {@code ?} one character, the
   * rest literal.
   *
   * @param glob the pattern
   * @return the equivalent regex
   */
  static String globToRegex(String glob) {
    StringBuilder sb = new StringBuilder();
    StringBuilder literal = new StringBuilder();
    for (char c : glob.toCharArray()) {
      if (c == '*' || c == '?') {
        if (literal.length() > 0) {
          sb.append(Pattern.quote(literal.toString()));
          literal.setLength(0);
        }
        sb.append(c == '*' ? ".*" : ".");
      } else {
        literal.append(c);
      }
    }
    if (literal.length() > 0) {
      sb.append(Pattern.quote(literal.toString()));
    }
    return sb.toString();
  }

  /**
   * The error text for an item that matches nothing: up to 5 closest labels or node names by
   * edit distance (case-insensitive), then those containing the item.
   *
   * @param item the item
   * @param layers all layers
   * @return the message
   */
  static String unknownMessage(String item, List<LayerInfo> layers) {
    List<String> close = closeMatches(item, layers, 5);
    String what = isPattern(item) ? "pattern" : "layer";
    return "unknown " + what + " '" + item + "' in --layers: no layer label, node name or tensor name matches"
        + (close.isEmpty() ? "" : "; close matches: " + String.join(", ", close))
        + ". Run 'tagscope worker --list-layers' to see every tappable layer.";
  }

  static List<String> closeMatches(String item, List<LayerInfo> layers, int max) {
    String q = item.replaceFirst("^(glob|regex):", "").toLowerCase(Locale.ROOT);
    record Scored(String name, int score) {}
    List<Scored> scored = new ArrayList<>();
    Set<String> seen = new LinkedHashSet<>();
    for (LayerInfo l : layers) {
      for (String name : List.of(l.label(), l.nodeName())) {
        if (name.isEmpty() || !seen.add(name)) {
          continue;
        }
        String n = name.toLowerCase(Locale.ROOT);
        int d = levenshtein(q, n);
        boolean contains = !q.isEmpty() && (n.contains(q) || q.contains(n));
        int limit = Math.max(2, q.length() / 3);
        if (d <= limit || contains) {
          scored.add(new Scored(name, contains && d > limit ? limit + 1 : d));
        }
      }
    }
    scored.sort(Comparator.comparingInt(Scored::score));
    List<String> out = new ArrayList<>();
    for (Scored s : scored) {
      if (out.size() == max) {
        break;
      }
      out.add(s.name);
    }
    return out;
  }

  static int levenshtein(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
