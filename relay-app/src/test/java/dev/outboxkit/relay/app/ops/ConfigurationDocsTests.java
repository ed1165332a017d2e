package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.spring.autoconfigure.RelayAutoConfiguration;
import dev.outboxkit.spring.autoconfigure.RelayProperties;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * docs/configuration.md is the one property reference: its tables must list exactly the properties
 * of the starter's generated configuration metadata ({@code
 * META-INF/spring-configuration-metadata.json} of {@code outbox-spring-boot-starter}), each with
 * the metadata's type and default, and the relay app's own section exactly the {@code outbox.*}
 * settings of its application.properties and {@code @Value} placeholders. Where the metadata has no
 * default because the relay's configuration type holds it ({@code RelayConfig.ofDefaults()}), a
 * default written as a value is checked by binding it: setting a property to its documented default
 * must change nothing.
 */
class ConfigurationDocsTests {

  private static final Pattern ROW =
      Pattern.compile("^\\|\\s*`((?:outbox|management|server)\\.[^`]+)`\\s*\\|(.*)\\|\\s*$");
  private static final Pattern LITERAL = Pattern.compile("^`([^`]*)`");
  private static final Pattern PLACEHOLDER =
      Pattern.compile("\\$\\{(outbox\\.[a-z0-9.-]+):([^}]*)}");
  private static final String STARTER_SECTION = "## Spring Boot properties";
  private static final String APP_SECTION = "## Standalone relay (`relay-app`)";
  private static final String PLAIN_JAVA_SECTION = "## Plain Java (`Outbox.builder()`)";

  /** A row of a property table: name, type, default cell, meaning. */
  record Row(String name, String type, String defaultCell, String meaning) {

    /** The default when the cell starts with a value in backticks, {@code ""} for {@code `""`}. */
    @Nullable String literal() {
      Matcher m = LITERAL.matcher(defaultCell);
      if (!m.find()) {
        return null;
      }
      return m.group(1).equals("\"\"") ? "" : m.group(1);
    }
  }

  /** A property of the generated metadata. */
  record Metadata(
      String name, String type, @Nullable String defaultValue, @Nullable String description) {}

  @Test
  void everyStarterPropertyIsDocumentedOnceAndNothingElse() {
    Map<String, Metadata> metadata = metadata();
    Map<String, Row> documented = rows(STARTER_SECTION, APP_SECTION);

    TreeSet<String> undocumented = new TreeSet<>(metadata.keySet());
    undocumented.removeAll(documented.keySet());
    TreeSet<String> stale = new TreeSet<>(documented.keySet());
    stale.removeAll(metadata.keySet());

    assertThat(undocumented)
        .as("properties of the starter's metadata without a row in docs/configuration.md")
        .isEmpty();
    assertThat(stale).as("rows of docs/configuration.md that are no property").isEmpty();
    assertThat(documented).hasSizeGreaterThan(80);
  }

  /**
   * The metadata takes a record component's description from its {@code @param}, found by prefix:
   * {@code @param keyset} written after {@code @param keysetFile} gave {@code
   * outbox.encryption.keyset} the text "File A Tink cleartext JSON keyset file ...", the other
   * property's description behind the rest of its name.
   */
  @Test
  void noPropertyBorrowsAnotherOnesDescription() {
    Map<String, Metadata> metadata = metadata();
    List<String> borrowed = new ArrayList<>();
    for (Metadata property : metadata.values()) {
      for (Metadata other : metadata.values()) {
        if (property.description() != null
            && other.description() != null
            && property.description().length() > other.description().length()
            && property.description().endsWith(other.description())) {
          borrowed.add(property.name() + " ends with the description of " + other.name());
        }
      }
    }
    assertThat(borrowed).isEmpty();
    assertThat(metadata.get("outbox.encryption.keyset").description())
        .startsWith("A Tink cleartext JSON keyset as text");
  }

  @Test
  void typesAndDefaultsAreTheMetadatas() {
    Map<String, Metadata> metadata = metadata();
    List<String> wrong = new ArrayList<>();
    for (Row row : rows(STARTER_SECTION, APP_SECTION).values()) {
      Metadata property = metadata.get(row.name());
      if (property == null) {
        continue; // reported by the test above
      }
      String type = docType(property.type());
      if (!row.type().equals(type)) {
        wrong.add(row.name() + ": type documented '" + row.type() + "', metadata says " + type);
      }
      String literal = row.literal();
      if (property.defaultValue() != null) {
        if (literal == null || !sameValue(literal, property.defaultValue())) {
          wrong.add(
              row.name()
                  + ": default documented '"
                  + row.defaultCell()
                  + "', metadata says `"
                  + property.defaultValue()
                  + "`");
        }
      } else if (literal != null && !row.name().startsWith("outbox.relay.")) {
        wrong.add(
            row.name()
                + ": documented default `"
                + literal
                + "` but the property has none; describe it in words (unset, ...)");
      }
    }
    assertThat(wrong).isEmpty();
  }

  @Test
  void relayDefaultsDocumentedAsValuesAreTheRelaysOwn() {
    Map<String, Metadata> metadata = metadata();
    List<String> wrong = new ArrayList<>();
    int checked = 0;
    for (Row row : rows(STARTER_SECTION, APP_SECTION).values()) {
      Metadata property = metadata.get(row.name());
      String literal = row.literal();
      if (property == null
          || property.defaultValue() != null
          || literal == null
          || !row.name().startsWith("outbox.relay.")) {
        continue;
      }
      checked++;
      boolean cdc = row.name().startsWith("outbox.relay.cdc.");
      Map<String, String> base = Map.of("outbox.relay.mode", cdc ? "cdc" : "polling");
      Map<String, String> set = new LinkedHashMap<>(base);
      set.put(row.name(), literal);
      Object unset = effective(base, cdc);
      Object explicit = effective(set, cdc);
      if (!unset.equals(explicit)) {
        wrong.add(
            row.name()
                + ": setting it to the documented default `"
                + literal
                + "` changes the relay's configuration, so `"
                + literal
                + "` is not its default");
      }
    }
    assertThat(checked).as("relay defaults checked by binding").isGreaterThan(20);
    assertThat(wrong).isEmpty();
  }

  @Test
  void theRelayAppSectionListsItsOwnSettings() throws IOException {
    Map<String, Row> documented = rows(APP_SECTION, PLAIN_JAVA_SECTION);
    Map<String, String> own = new TreeMap<>();
    Properties app = new Properties();
    try (InputStream in =
        Files.newInputStream(
            DeployFiles.root().resolve("relay-app/src/main/resources/application.properties"))) {
      app.load(in);
    }
    app.stringPropertyNames().stream()
        .filter(name -> name.startsWith("outbox."))
        .forEach(name -> own.put(name, app.getProperty(name)));
    for (Path source : javaSources(DeployFiles.root().resolve("relay-app/src/main/java"))) {
      Matcher placeholder = PLACEHOLDER.matcher(Files.readString(source, StandardCharsets.UTF_8));
      while (placeholder.find()) {
        own.putIfAbsent(placeholder.group(1), placeholder.group(2));
      }
    }
    Map<String, String> documentedOutbox =
        documented.values().stream()
            .filter(row -> row.name().startsWith("outbox."))
            .collect(
                Collectors.toMap(
                    Row::name, row -> String.valueOf(row.literal()), (a, b) -> a, TreeMap::new));

    assertThat(documentedOutbox).isEqualTo(own);
    assertThat(documented).containsKeys("server.port", "management.server.port");
  }

  private static Object effective(Map<String, String> properties, boolean cdc) {
    RelayProperties relay =
        new Binder(new MapConfigurationPropertySource(properties))
            .bindOrCreate("outbox.relay", Bindable.of(RelayProperties.class));
    if (!cdc) {
      return relay.toConfig(null, null);
    }
    StandardEnvironment environment = new StandardEnvironment();
    environment
        .getPropertySources()
        .addFirst(
            new MapPropertySource(
                "datasource",
                Map.of(
                    "spring.datasource.url", "jdbc:postgresql://localhost:5432/payments",
                    "spring.datasource.username", "relay",
                    "spring.datasource.password", "not-a-secret")));
    return relay.toConfig(null, RelayAutoConfiguration.cdcOptions(relay, environment));
  }

  /** Metadata type as the docs write it: simple names, unboxed, enums as {@code enum}. */
  static String docType(String type) {
    if (!type.contains("<")) {
      try {
        if (Class.forName(type).isEnum()) {
          return "enum";
        }
      } catch (ClassNotFoundException e) {
        throw new IllegalStateException("Metadata names a type that is not here: " + type, e);
      }
    }
    String simple =
        type.replaceAll("\\b(?:[a-z][a-z0-9_]*\\.)+", "").replaceAll("[A-Za-z0-9_]+\\$", "");
    simple = simple.replace(",", ", ");
    return switch (simple) {
      case "Boolean" -> "boolean";
      case "Integer" -> "int";
      case "Long" -> "long";
      case "Double" -> "double";
      default -> simple;
    };
  }

  /** Values compared as Spring binds them: enums and booleans ignoring case and - versus _. */
  static boolean sameValue(String documented, String metadata) {
    return normalized(documented).equals(normalized(metadata));
  }

  private static String normalized(String value) {
    String text = value.strip();
    // The processor writes a collection's default as one string, "[POST, PATCH]".
    if (text.startsWith("[") && text.endsWith("]")) {
      text = text.substring(1, text.length() - 1).strip();
    }
    return text.toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** The rows of the property tables between two level-2 headings of docs/configuration.md. */
  static Map<String, Row> rows(String from, String to) {
    List<String> lines;
    try {
      lines = Files.readAllLines(DeployFiles.root().resolve("docs/configuration.md"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int start = lines.indexOf(from);
    int end = lines.indexOf(to);
    assertThat(start).as("heading '%s' in docs/configuration.md", from).isNotNegative();
    assertThat(end).as("heading '%s' in docs/configuration.md", to).isGreaterThan(start);
    Map<String, Row> rows = new LinkedHashMap<>();
    for (String line : lines.subList(start, end)) {
      Matcher row = ROW.matcher(line);
      if (!row.matches()) {
        continue;
      }
      String[] cells = row.group(2).split("\\|", -1);
      assertThat(cells).as("cells of: %s", line).hasSize(3);
      Row parsed = new Row(row.group(1), cells[0].strip(), cells[1].strip(), cells[2].strip());
      assertThat(rows.put(parsed.name(), parsed))
          .as("%s is documented twice in one section", parsed.name())
          .isNull();
    }
    return rows;
  }

  /** The starter's properties: the metadata files that describe outbox.* properties. */
  static Map<String, Metadata> metadata() {
    Map<String, Metadata> properties = new TreeMap<>();
    JsonMapper json = JsonMapper.builder().build();
    try {
      Enumeration<URL> files =
          ConfigurationDocsTests.class
              .getClassLoader()
              .getResources("META-INF/spring-configuration-metadata.json");
      while (files.hasMoreElements()) {
        URL file = files.nextElement();
        JsonNode root;
        try (InputStream in = file.openStream()) {
          root = json.readTree(in);
        }
        for (JsonNode property : root.path("properties")) {
          String source = property.path("sourceType").asString("");
          if (!source.startsWith("dev.outboxkit.")) {
            continue;
          }
          JsonNode value = property.get("defaultValue");
          String defaultValue =
              value == null || value.isNull()
                  ? null
                  : value.isArray()
                      ? StreamSupport.stream(value.spliterator(), false)
                          .map(JsonNode::asString)
                          .collect(Collectors.joining(", "))
                      : value.asString();
          JsonNode description = property.get("description");
          Metadata metadata =
              new Metadata(
                  property.path("name").asString(),
                  property.path("type").asString(),
                  defaultValue,
                  description == null || description.isNull() ? null : description.asString());
          properties.put(metadata.name(), metadata);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    assertThat(properties).as("the starter's generated metadata").containsKey("outbox.enabled");
    return properties;
  }

  private static List<Path> javaSources(Path root) throws IOException {
    try (var files = Files.walk(root)) {
      return files.filter(file -> file.toString().endsWith(".java")).sorted().toList();
    }
  }
}
