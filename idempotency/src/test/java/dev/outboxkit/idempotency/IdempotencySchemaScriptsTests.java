package dev.outboxkit.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.ShippedScripts;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IdempotencySchemaScriptsTests {

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mysql", "mariadb", "h2"})
  void shippedScriptIsWhatTheSchemaCreates(String name) {
    OutboxDialect dialect = OutboxDialect.named(name);
    List<String> statements = ShippedScripts.statements(IdempotencySchema.scriptLocation(dialect));
    assertThat(statements)
        .isEqualTo(
            IdempotencySchema.createStatements(
                dialect, OutboxTable.of("idempotency_key"), OutboxTable.of("inbox_message")));
  }
}
