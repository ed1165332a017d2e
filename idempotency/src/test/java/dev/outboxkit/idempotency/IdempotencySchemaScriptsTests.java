package dev.outboxkit.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IdempotencySchemaScriptsTests {

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mysql", "mariadb", "h2"})
  void shippedScriptIsWhatTheSchemaCreates(String name) throws IOException {
    OutboxDialect dialect = OutboxDialect.named(name);
    String script;
    try (InputStream in =
        getClass()
            .getClassLoader()
            .getResourceAsStream(IdempotencySchema.scriptLocation(dialect))) {
      assertThat(in).isNotNull();
      script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    List<String> statements =
        Arrays.stream(script.split("\n;\n"))
            .map(
                s ->
                    s.lines()
                        .filter(l -> !l.startsWith("--"))
                        .reduce((a, b) -> a + "\n" + b)
                        .orElse("")
                        .strip())
            .filter(s -> !s.isBlank())
            .toList();
    assertThat(statements)
        .isEqualTo(
            IdempotencySchema.createStatements(
                dialect, OutboxTable.of("idempotency_key"), OutboxTable.of("inbox_message")));
  }
}
