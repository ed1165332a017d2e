package dev.outboxkit.relay.app.ops;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/** The shipped Grafana dashboards and the PromQL in them. */
final class Dashboards {

  private static final Pattern LABEL_VALUES =
      Pattern.compile("^label_values\\((.+),\\s*([a-zA-Z_]+)\\)$");

  private Dashboards() {}

  static List<Path> files() throws IOException {
    try (Stream<Path> files = Files.list(DeployFiles.dashboards())) {
      return files
          .filter(p -> p.toString().endsWith(".json") && !p.toString().endsWith(".schema.json"))
          .sorted()
          .toList();
    }
  }

  static JsonNode read(Path file) {
    return new ObjectMapper().readTree(file.toFile());
  }

  /** Every panel target's expression, keyed by dashboard, panel and refId. */
  static Map<String, String> targets() throws IOException {
    Map<String, String> exprs = new LinkedHashMap<>();
    for (Path file : files()) {
      for (JsonNode panel : read(file).path("panels")) {
        for (JsonNode target : panel.path("targets")) {
          exprs.put(
              file.getFileName()
                  + " '"
                  + panel.path("title").asString()
                  + "' "
                  + target.path("refId").asString(),
              target.path("expr").asString());
        }
      }
    }
    return exprs;
  }

  /** The series selector of every {@code label_values(selector, label)} variable query. */
  static Map<String, String> variableSelectors() throws IOException {
    Map<String, String> selectors = new LinkedHashMap<>();
    for (Path file : files()) {
      for (JsonNode variable : read(file).path("templating").path("list")) {
        if (variable.path("type").asString().equals("query")) {
          String query = variable.path("query").path("query").asString();
          Matcher m = LABEL_VALUES.matcher(query);
          if (!m.matches()) {
            throw new IllegalStateException(
                file + " variable " + variable.path("name") + ": " + query);
          }
          selectors.put(file.getFileName() + " $" + variable.path("name").asString(), m.group(1));
        }
      }
    }
    return selectors;
  }

  /** Every query variable's whole query ({@code label_values(selector, label)}). */
  static Map<String, String> variableQueries() throws IOException {
    Map<String, String> queries = new LinkedHashMap<>();
    for (Path file : files()) {
      for (JsonNode variable : read(file).path("templating").path("list")) {
        if (variable.path("type").asString().equals("query")) {
          queries.put(
              file.getFileName() + " $" + variable.path("name").asString(),
              variable.path("query").path("query").asString());
        }
      }
    }
    return queries;
  }

  /** Grafana's variables replaced by what promtool can parse. */
  static String forPromtool(String expr) {
    return expr.replace("$__rate_interval", "5m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h")
        .replaceAll("\\$\\{?[a-zA-Z_][a-zA-Z0-9_]*\\}?", ".*");
  }
}
