package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The names the README and every page under docs/ give exist in the code, so a rename fails the
 * build instead of leaving a page that sends readers to a property, test or class that is not there
 * (issue 21: the docs had drifted from the code).
 *
 * <ul>
 *   <li>Every {@code outbox.*} name is a property of the configuration metadata, or a name the main
 *       code spells as a string (meters, observations, their tags).
 *   <li>Every name in backticks that looks like one of ours — a test class ({@code …Tests}, {@code
 *       …IT}) or a type named {@code Outbox…}, {@code Relay…}, {@code Cdc…}, {@code Idempotency…},
 *       {@code Inbox…}, {@code Parked…}, {@code Lease…} — is a type declared in the repository, or
 *       an alert of the shipped rules; a method after it ({@code Type.method}, {@code Type#method})
 *       and a long bare method name (a test's sentence) appear in the sources.
 * </ul>
 */
class DocsNamesTests {

  private static final Pattern PROPERTY =
      Pattern.compile("(?<![\\w.])outbox\\.[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+");
  private static final Pattern LITERAL = Pattern.compile("\"(?:\\$\\{)?(outbox\\.[a-z0-9.\\-]+)");
  private static final Pattern CODE_SPAN = Pattern.compile("`([^`\\n]+)`");
  private static final Pattern TYPE_AND_METHOD =
      Pattern.compile("([A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*)(?:[.#]([a-z]\\w*))?(?:\\(\\))?");
  private static final Pattern LOOKS_OURS =
      Pattern.compile(
          "(Outbox|Relay|Cdc|Idempotency|Inbox|KafkaInbox|Parked|Lease)[A-Za-z0-9]*"
              + "|[A-Za-z0-9]+(Tests|IT)");
  private static final Pattern TEST_SENTENCE =
      Pattern.compile("[a-z][a-z0-9]*[A-Z][A-Za-z0-9]{28,}");
  private static final Pattern DECLARED =
      Pattern.compile("\\b(?:class|interface|record|enum)\\s+([A-Z]\\w*)");

  @Test
  void everyOutboxNameOfTheReadmeAndTheDocsIsAPropertyOrAMeter() throws Exception {
    Set<String> properties = ConfigurationPropertiesTests.knownProperties();
    Set<String> spelled = new HashSet<>();
    for (String source : sources().mainTexts) {
      Matcher m = LITERAL.matcher(source);
      while (m.find()) {
        spelled.add(m.group(1).replaceAll("\\.$", ""));
      }
    }
    assertThat(spelled).contains("outbox.lag", "outbox.events.parked");
    List<String> unknown = new ArrayList<>();
    int checked = 0;
    for (Path page : pages()) {
      List<String> lines = lines(page);
      for (int i = 0; i < lines.size(); i++) {
        Matcher m = PROPERTY.matcher(lines.get(i));
        while (m.find()) {
          String name = m.group().replaceAll("\\.$", "");
          checked++;
          if (!ConfigurationPropertiesTests.known(properties, name) && !spelled.contains(name)) {
            unknown.add(where(page, i) + " names " + name);
          }
        }
      }
    }
    assertThat(checked).as("outbox.* names found").isGreaterThan(150);
    assertThat(unknown).as("outbox.* names that are neither a property nor a meter").isEmpty();
  }

  @Test
  void everyTypeTestAndMethodTheReadmeAndTheDocsNameExists() throws Exception {
    Sources sources = sources();
    Set<String> alerts = new HashSet<>();
    for (AlertRules.Rule rule : AlertRules.alerts()) {
      alerts.add(rule.alert());
    }
    List<String> unknown = new ArrayList<>();
    int checked = 0;
    for (Path page : pages()) {
      List<String> lines = lines(page);
      for (int i = 0; i < lines.size(); i++) {
        Matcher span = CODE_SPAN.matcher(lines.get(i));
        while (span.find()) {
          String text = span.group(1).strip();
          Matcher named = TYPE_AND_METHOD.matcher(text);
          if (named.matches() && LOOKS_OURS.matcher(named.group(1)).matches()) {
            checked++;
            String type = named.group(1);
            String method = named.group(2);
            if (!sources.types.contains(type) && !alerts.contains(type)) {
              unknown.add(where(page, i) + " names type " + type);
            } else if (method != null && !sources.mentions(method)) {
              unknown.add(where(page, i) + " names " + type + "." + method);
            }
          } else if (TEST_SENTENCE.matcher(text).matches()) {
            checked++;
            if (!sources.mentions(text)) {
              unknown.add(where(page, i) + " names method " + text);
            }
          }
        }
      }
    }
    assertThat(checked).as("names found").isGreaterThan(300);
    assertThat(unknown).as("names the code does not have").isEmpty();
  }

  @Test
  void theChecksTellOursFromOthers() {
    assertThat(LOOKS_OURS.matcher("RelayTakeoverContractTests").matches()).isTrue();
    assertThat(LOOKS_OURS.matcher("OutboxRelay").matches()).isTrue();
    assertThat(LOOKS_OURS.matcher("ProducerFencedException").matches()).isFalse();
    assertThat(TYPE_AND_METHOD.matcher("COMMIT").matches()).isFalse();
    assertThat(TYPE_AND_METHOD.matcher("PollingRelayContractTests.publishesOnly").matches())
        .isTrue();
    assertThat(
            TEST_SENTENCE.matcher("everyTypeTestAndMethodTheReadmeAndTheDocsNameExists").matches())
        .isTrue();
    assertThat(TEST_SENTENCE.matcher("fallbackToSystemTrustStore").matches()).isFalse();
    assertThat(PROPERTY.matcher("namastack.outbox.polling.batch-size").find()).isFalse();
  }

  /** Build output and other copies, not sources. */
  private static boolean generated(Path relative) {
    for (Path element : relative) {
      String name = element.toString();
      if (name.equals("target") || name.startsWith(".")) {
        return true;
      }
    }
    return false;
  }

  private static String where(Path page, int index) {
    return DeployFiles.root().relativize(page) + ":" + (index + 1);
  }

  private static List<Path> pages() throws IOException {
    Path root = DeployFiles.root();
    List<Path> pages = new ArrayList<>();
    pages.add(root.resolve("README.md"));
    try (Stream<Path> docs = Files.walk(root.resolve("docs"))) {
      docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
    }
    return pages;
  }

  private static List<String> lines(Path page) {
    try {
      return Files.readAllLines(page, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The repository's Java sources: declared types, and every text for the name searches. */
  private record Sources(Set<String> types, List<String> mainTexts, String allText) {
    boolean mentions(String name) {
      return allText.contains(name);
    }
  }

  private static Sources sources() throws IOException {
    Path root = DeployFiles.root();
    Set<String> types = new HashSet<>();
    List<String> mainTexts = new ArrayList<>();
    StringBuilder all = new StringBuilder();
    List<Path> files;
    try (Stream<Path> walk = Files.walk(root)) {
      files =
          walk.filter(p -> p.toString().endsWith(".java"))
              .filter(p -> !generated(root.relativize(p)))
              .toList();
    }
    for (Path file : files) {
      String text = Files.readString(file, StandardCharsets.UTF_8);
      String name = file.getFileName().toString();
      types.add(name.substring(0, name.length() - ".java".length()));
      Matcher declared = DECLARED.matcher(text);
      while (declared.find()) {
        types.add(declared.group(1));
      }
      if (file.toString().contains("/src/main/")) {
        mainTexts.add(text);
      }
      all.append(text).append('\n');
    }
    assertThat(files).as("Java sources under " + root).hasSizeGreaterThan(500);
    return new Sources(types, mainTexts, all.toString());
  }
}
