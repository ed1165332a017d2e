package dev.outboxkit.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.MapPropertySource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Fuzz test of configuration binding: one or two {@code outbox.*} properties (every one the
 * starter's metadata declares) set to any text, bound as Spring Boot binds them at start-up. Kept
 * inputs under {@code PropertiesBindingFuzzTestsInputs/}; {@code JAZZER_FUZZ=1} fuzzes
 * (docs/testing.md).
 *
 * <p>Properties: the context either starts, or fails with a message that names a property that was
 * set, and nothing in the failure's chain is a {@link NullPointerException}, {@link
 * ClassCastException}, index or arithmetic error (a bug in a properties class, not a clear error).
 */
@Tag("fuzz")
class PropertiesBindingFuzzTests {

  private static final List<Class<? extends Throwable>> BUGS =
      List.of(
          NullPointerException.class,
          ClassCastException.class,
          IndexOutOfBoundsException.class,
          ArithmeticException.class,
          UnsupportedOperationException.class);

  private static final ApplicationContextRunner runner =
      new ApplicationContextRunner().withUserConfiguration(AllProperties.class);
  private static List<String> names;

  @Configuration(proxyBeanMethods = false)
  @EnableConfigurationProperties({
    OutboxProperties.class,
    IdempotencyProperties.class,
    RelayProperties.class,
    RelayManagementProperties.class
  })
  static class AllProperties {}

  private static String stackTrace(Throwable failure) {
    java.io.StringWriter out = new java.io.StringWriter();
    failure.printStackTrace(new java.io.PrintWriter(out));
    return out.toString();
  }

  /** Every {@code outbox.*} property of the starter's generated metadata; map keys get a key. */
  @BeforeAll
  static void propertyNames() throws IOException {
    JsonNode metadata;
    try (InputStream in =
        PropertiesBindingFuzzTests.class.getResourceAsStream(
            "/META-INF/spring-configuration-metadata.json")) {
      metadata = JsonMapper.builder().build().readTree(in);
    }
    names = new ArrayList<>();
    for (JsonNode property : metadata.get("properties")) {
      String name = property.get("name").asString();
      String type = property.path("type").asString("");
      if (name.startsWith("outbox.")) {
        names.add(type.startsWith("java.util.Map") ? name + ".some-key" : name);
      }
    }
    assertThat(names).hasSizeGreaterThan(50);
  }

  @FuzzTest(maxDuration = "60s")
  void bindsOrFailsNamingTheProperty(FuzzedDataProvider data) {
    Map<String, Object> values = new LinkedHashMap<>();
    int count = data.consumeInt(1, 2);
    for (int i = 0; i < count; i++) {
      values.put(data.pickValue(names), data.consumeString(40));
    }
    runner
        .withInitializer(
            context ->
                context
                    .getEnvironment()
                    .getPropertySources()
                    .addFirst(new MapPropertySource("fuzz", values)))
        .run(
            context -> {
              Throwable failure = context.getStartupFailure();
              if (failure == null) {
                assertThat(context).hasSingleBean(OutboxProperties.class);
                return;
              }
              List<String> messages = new ArrayList<>();
              for (Throwable t = failure; t != null; t = t.getCause()) {
                for (Class<? extends Throwable> bug : BUGS) {
                  assertThat(t).as("a bug, not a clear error: %s", values).isNotInstanceOf(bug);
                }
                messages.add(String.valueOf(t.getMessage()));
              }
              assertThat(values.keySet())
                  .as("a message names the property: %s%n%s", messages, stackTrace(failure))
                  .anyMatch(name -> messages.stream().anyMatch(m -> m.contains(name)));
            });
  }
}
