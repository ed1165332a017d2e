package dev.outboxkit.outbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.spi.OutboxDialect;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SchemaScriptsTests {

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mysql", "mariadb", "h2"})
  void shippedScriptIsWhatTheDialectCreates(String name) throws IOException {
    OutboxDialect dialect = OutboxDialect.named(name);
    String script = read(OutboxSchema.scriptLocation(dialect));
    List<String> statements =
        Arrays.stream(script.split("\n;\n"))
            .map(SchemaScriptsTests::withoutComments)
            .filter(s -> !s.isBlank())
            .toList();
    assertThat(statements).isEqualTo(OutboxSchema.createStatements(dialect, OutboxTable.DEFAULT));
    assertThat(script).contains("-- changeset outboxkit:outboxkit-1-" + name + " dbms:" + name);
  }

  private static String withoutComments(String sql) {
    return sql.lines()
        .filter(line -> !line.startsWith("--"))
        .reduce((a, b) -> a + "\n" + b)
        .orElse("")
        .strip();
  }

  private static String read(String location) throws IOException {
    try (InputStream in = SchemaScriptsTests.class.getClassLoader().getResourceAsStream(location)) {
      assertThat(in).as(location).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
