package dev.outboxkit.relay.app.ops;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/** The shipped Prometheus rules file, read as data. */
final class AlertRules {

  /** One rule: an alert (name in {@code alert}) or a recording rule (name in {@code record}). */
  record Rule(
      String group,
      String alert,
      String record,
      String expr,
      Map<String, String> labels,
      Map<String, String> annotations) {

    boolean isAlert() {
      return !alert.isEmpty();
    }
  }

  private AlertRules() {}

  static Object yaml(Path file) throws IOException {
    return new Yaml(new SafeConstructor(new LoaderOptions()))
        .load(Files.readString(file, StandardCharsets.UTF_8));
  }

  @SuppressWarnings("unchecked")
  static List<Rule> load(Path file) throws IOException {
    Map<String, Object> root = (Map<String, Object>) yaml(file);
    List<Rule> rules = new ArrayList<>();
    for (Map<String, Object> group : (List<Map<String, Object>>) root.get("groups")) {
      for (Map<String, Object> rule : (List<Map<String, Object>>) group.get("rules")) {
        rules.add(
            new Rule(
                (String) group.get("name"),
                (String) rule.getOrDefault("alert", ""),
                (String) rule.getOrDefault("record", ""),
                String.valueOf(rule.get("expr")),
                (Map<String, String>) rule.getOrDefault("labels", Map.of()),
                (Map<String, String>) rule.getOrDefault("annotations", Map.of())));
      }
    }
    return rules;
  }

  static List<Rule> alerts() throws IOException {
    return load(DeployFiles.rules()).stream().filter(Rule::isAlert).toList();
  }
}
