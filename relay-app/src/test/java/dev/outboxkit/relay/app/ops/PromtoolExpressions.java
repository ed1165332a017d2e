package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * promtool has no "parse this expression" command; {@code check rules} parses every rule's
 * expression, so each expression becomes a recording rule of a generated file.
 */
final class PromtoolExpressions {

  private PromtoolExpressions() {}

  static void assertParse(Map<String, String> expressions) throws Exception {
    Promtool.assumeInstalled();
    StringBuilder yaml = new StringBuilder("groups:\n  - name: parsed\n    rules:\n");
    int i = 0;
    for (String expr : expressions.values()) {
      yaml.append("      - record: parsed:expr").append(i++).append('\n');
      yaml.append("        expr: |\n");
      expr.lines().forEach(l -> yaml.append("          ").append(l).append('\n'));
    }
    Path file = Files.createTempFile("outboxkit-expressions", ".yml");
    try {
      Files.writeString(file, yaml, StandardCharsets.UTF_8);
      String out = Promtool.run("check", "rules", file.toString());
      assertThat(out)
          .as("promtool on %s", expressions.keySet())
          .contains("SUCCESS: " + i + " rules found");
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
