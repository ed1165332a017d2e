package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * Every {@code outbox.*} property that the runbooks and the alert annotations tell an operator to
 * look at or change exists in the starter's configuration metadata, so renaming a property fails
 * the build instead of leaving a runbook that sends people to a setting that is not there.
 */
class ConfigurationPropertiesTests {

  private static final Pattern PROPERTY =
      Pattern.compile("\\boutbox\\.[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+");

  static Set<String> knownProperties() throws Exception {
    Set<String> names = new TreeSet<>();
    ObjectMapper json = new ObjectMapper();
    for (URL url :
        Collections.list(
            ConfigurationPropertiesTests.class
                .getClassLoader()
                .getResources("META-INF/spring-configuration-metadata.json"))) {
      try (InputStream in = url.openStream()) {
        for (JsonNode property : json.readTree(in).path("properties")) {
          names.add(property.path("name").asString());
        }
      }
    }
    return names;
  }

  /**
   * The environment variable names that bind to a known property: Boot binds both the canonical
   * form (dashes dropped) and the legacy one (dashes as underscores).
   */
  static Set<String> environmentVariableForms() throws Exception {
    Set<String> forms = new TreeSet<>();
    for (String p : knownProperties()) {
      forms.add(p.replace(".", "_").replace("-", "").toUpperCase(Locale.ROOT));
      forms.add(p.replace(".", "_").replace("-", "_").toUpperCase(Locale.ROOT));
    }
    return forms;
  }

  static boolean known(Set<String> names, String property) {
    return names.contains(property)
        || names.stream().anyMatch(n -> property.startsWith(n + ".")) // map-valued properties
        || names.stream()
            .anyMatch(n -> n.startsWith(property + ".")); // a group, e.g. outbox.relay.cdc
  }

  @Test
  void everyPropertyTheRunbooksAndAlertsNameExists() throws Exception {
    Set<String> names = knownProperties();
    assertThat(names)
        .contains("outbox.relay.retry.max-attempts", "outbox.relay.management.operator-role");
    List<String> texts = new ArrayList<>();
    try (Stream<Path> pages = Files.list(DeployFiles.runbooks())) {
      for (Path page : pages.filter(p -> p.toString().endsWith(".md")).toList()) {
        texts.add(page.getFileName() + "\n" + Files.readString(page, StandardCharsets.UTF_8));
      }
    }
    for (AlertRules.Rule alert : AlertRules.alerts()) {
      texts.add(alert.alert() + "\n" + String.join("\n", alert.annotations().values()));
    }
    int checked = 0;
    for (String text : texts) {
      Matcher m = PROPERTY.matcher(text);
      while (m.find()) {
        String property = m.group().replaceAll("\\.$", "");
        assertThat(known(names, property))
            .as("%s names %s", text.lines().findFirst().orElse(""), property)
            .isTrue();
        checked++;
      }
    }
    assertThat(checked).isGreaterThan(20);
  }
}
