package dev.outboxkit.relay.app.ops;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A Prometheus text-format scrape, read into series (name and labels). */
final class Scrape {

  private static final Pattern LABEL =
      Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

  private final Map<String, List<Map<String, String>>> series = new LinkedHashMap<>();
  private final Map<String, Double> values = new LinkedHashMap<>();

  Scrape(String text) {
    for (String line : text.split("\n")) {
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      int brace = line.indexOf('{');
      int space = line.indexOf(' ');
      Map<String, String> labels = new LinkedHashMap<>();
      String name;
      String rest;
      if (brace >= 0 && (space < 0 || brace < space)) {
        rest = line.substring(line.lastIndexOf('}') + 1);
        name = line.substring(0, brace);
        Matcher m = LABEL.matcher(line.substring(brace, line.lastIndexOf('}') + 1));
        while (m.find()) {
          labels.put(m.group(1), m.group(2));
        }
      } else {
        name = line.substring(0, space);
        rest = line.substring(space);
      }
      series.computeIfAbsent(name, k -> new ArrayList<>()).add(labels);
      String[] parts = rest.strip().split(" ");
      double v = parts[0].equals("NaN") ? Double.NaN : Double.parseDouble(parts[0]);
      values.merge(name, v, Double::sum);
    }
  }

  /** Adds another scrape's series (e.g. the CDC mode app's). */
  Scrape with(Scrape other) {
    other.series.forEach((k, v) -> series.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
    return this;
  }

  Set<String> names() {
    return series.keySet();
  }

  boolean has(String name) {
    return series.containsKey(name);
  }

  boolean has(String name, String label, String value) {
    return series.getOrDefault(name, List.of()).stream().anyMatch(l -> value.equals(l.get(label)));
  }

  boolean hasLabel(String label) {
    return series.values().stream().flatMap(List::stream).anyMatch(l -> l.containsKey(label));
  }

  /** The sum of a metric's sample values over its series, or -1 when absent or not a number. */
  double value(String name) {
    Double sum = values.get(name);
    return sum == null || sum.isNaN() ? -1 : sum;
  }
}
