package dev.outboxkit.relay.app.ops;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Just enough of a PromQL reader to find what an expression depends on: the metric names it
 * selects, the label values its matchers require, and the labels it groups or matches by. It
 * tokenizes (strings, label-matcher blocks, ranges, numbers with units, Grafana's {@code $vars})
 * instead of grepping, so function names, keywords and durations never count as metrics.
 * Expressions must still parse with promtool; this class does not validate them.
 */
final class PromQl {

  /** A metric selected by an expression, with the label values its {@code =}/{@code =~} need. */
  record Selector(String metric, Map<String, Set<String>> requiredLabelValues) {}

  /** What an expression depends on. */
  record Dependencies(List<Selector> selectors, Set<String> groupingLabels) {

    Set<String> metrics() {
      Set<String> names = new LinkedHashSet<>();
      selectors.forEach(s -> names.add(s.metric()));
      return names;
    }
  }

  private static final Set<String> KEYWORDS =
      Set.of(
          "and",
          "or",
          "unless",
          "bool",
          "offset",
          "inf",
          "nan",
          "atan2",
          "start",
          "end",
          "sum",
          "min",
          "max",
          "avg",
          "group",
          "stddev",
          "stdvar",
          "count",
          "count_values",
          "bottomk",
          "topk",
          "quantile",
          "limitk",
          "limit_ratio");
  private static final Set<String> GROUPING =
      Set.of("by", "without", "on", "ignoring", "group_left", "group_right");
  private static final Pattern MATCHER =
      Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");
  private static final Pattern PLAIN_ALTERNATIVES =
      Pattern.compile("[A-Za-z0-9_.:+-]+(\\|[A-Za-z0-9_.:+-]+)*");

  private enum Kind {
    IDENT,
    BRACES,
    OTHER
  }

  private record Token(Kind kind, String text) {}

  private PromQl() {}

  static Dependencies read(String expr) {
    List<Token> tokens = tokenize(expr);
    List<Selector> selectors = new ArrayList<>();
    Set<String> grouping = new LinkedHashSet<>();
    for (int i = 0; i < tokens.size(); i++) {
      Token t = tokens.get(i);
      Token next = i + 1 < tokens.size() ? tokens.get(i + 1) : new Token(Kind.OTHER, "");
      if (t.kind() == Kind.BRACES) {
        throw new IllegalArgumentException("A selector without a metric name in: " + expr);
      }
      if (t.kind() != Kind.IDENT) {
        continue;
      }
      String word = t.text();
      if (GROUPING.contains(word.toLowerCase()) && next.text().equals("(")) {
        int j = i + 2;
        for (; j < tokens.size() && !tokens.get(j).text().equals(")"); j++) {
          if (tokens.get(j).kind() == Kind.IDENT) {
            grouping.add(tokens.get(j).text());
          }
        }
        i = j;
      } else if (KEYWORDS.contains(word.toLowerCase()) || next.text().equals("(")) {
        continue; // an operator, an aggregation or a function
      } else if (next.kind() == Kind.BRACES) {
        selectors.add(new Selector(word, required(next.text())));
        i++;
      } else {
        selectors.add(new Selector(word, Map.of()));
      }
    }
    return new Dependencies(selectors, grouping);
  }

  private static Map<String, Set<String>> required(String braces) {
    Map<String, Set<String>> required = new LinkedHashMap<>();
    Matcher m = MATCHER.matcher(braces);
    while (m.find()) {
      String op = m.group(2);
      String value = m.group(3);
      if (value.contains("$") || !(op.equals("=") || op.equals("=~"))) {
        continue; // a dashboard variable, or a negative matcher: nothing is required
      }
      if (op.equals("=")) {
        required.computeIfAbsent(m.group(1), k -> new LinkedHashSet<>()).add(value);
      } else if (PLAIN_ALTERNATIVES.matcher(value).matches()) {
        required
            .computeIfAbsent(m.group(1), k -> new LinkedHashSet<>())
            .addAll(List.of(value.split("\\|")));
      }
    }
    return required;
  }

  private static List<Token> tokenize(String expr) {
    List<Token> tokens = new ArrayList<>();
    int i = 0;
    int n = expr.length();
    while (i < n) {
      char c = expr.charAt(i);
      if (Character.isWhitespace(c)) {
        i++;
      } else if (c == '#') {
        while (i < n && expr.charAt(i) != '\n') {
          i++;
        }
      } else if (c == '"' || c == '\'' || c == '`') {
        i = skipString(expr, i);
        tokens.add(new Token(Kind.OTHER, "\"\""));
      } else if (c == '{') {
        int start = i;
        while (i < n && expr.charAt(i) != '}') {
          char d = expr.charAt(i);
          i = (d == '"' || d == '\'' || d == '`') ? skipString(expr, i) : i + 1;
        }
        tokens.add(new Token(Kind.BRACES, expr.substring(start, Math.min(i + 1, n))));
        i++;
      } else if (c == '[') {
        while (i < n && expr.charAt(i) != ']') {
          i++;
        }
        i++;
        tokens.add(new Token(Kind.OTHER, "[]"));
      } else if (c == '$') {
        // A Grafana variable: $name or ${name}; never a metric.
        i++;
        if (i < n && expr.charAt(i) == '{') {
          while (i < n && expr.charAt(i) != '}') {
            i++;
          }
          i++;
        } else {
          while (i < n && (Character.isLetterOrDigit(expr.charAt(i)) || expr.charAt(i) == '_')) {
            i++;
          }
        }
        tokens.add(new Token(Kind.OTHER, "$"));
      } else if (Character.isDigit(c)
          || (c == '.' && i + 1 < n && Character.isDigit(expr.charAt(i + 1)))) {
        while (i < n && (Character.isLetterOrDigit(expr.charAt(i)) || expr.charAt(i) == '.')) {
          i++;
        }
        tokens.add(new Token(Kind.OTHER, "0"));
      } else if (Character.isLetter(c) || c == '_' || c == ':') {
        int start = i;
        while (i < n
            && (Character.isLetterOrDigit(expr.charAt(i))
                || expr.charAt(i) == '_'
                || expr.charAt(i) == ':')) {
          i++;
        }
        tokens.add(new Token(Kind.IDENT, expr.substring(start, i)));
      } else {
        tokens.add(new Token(Kind.OTHER, String.valueOf(c)));
        i++;
      }
    }
    return tokens;
  }

  private static int skipString(String expr, int i) {
    char quote = expr.charAt(i);
    i++;
    while (i < expr.length() && expr.charAt(i) != quote) {
      i += expr.charAt(i) == '\\' && quote != '`' ? 2 : 1;
    }
    return i + 1;
  }
}
