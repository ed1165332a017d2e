package dev.outboxkit.outbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.ShippedScripts;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SchemaScriptsTests {

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mysql", "mariadb", "h2"})
  void shippedScriptIsWhatTheDialectCreates(String name) {
    OutboxDialect dialect = OutboxDialect.named(name);
    String location = OutboxSchema.scriptLocation(dialect);
    List<String> statements = ShippedScripts.statements(location);
    assertThat(statements).isEqualTo(OutboxSchema.createStatements(dialect, OutboxTable.DEFAULT));
    assertThat(ShippedScripts.text(location))
        .contains("-- changeset outboxkit:outboxkit-1-" + name + " dbms:" + name);
  }
}
