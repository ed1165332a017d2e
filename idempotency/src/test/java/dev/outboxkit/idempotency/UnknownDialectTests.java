package dev.outboxkit.idempotency;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * A dialect the idempotency module has no SQL for fails when the component is built, naming what it
 * lacks, instead of running a built-in database's SQL (a plain insert where it needed
 * insert-if-absent).
 */
class UnknownDialectTests {

  private static final OutboxTable KEYS = OutboxTable.of("idem_keys");
  private static final OutboxTable INBOX = OutboxTable.of("idem_inbox");

  @Test
  void idempotencyWithAnUnknownDialectFailsAtBuildNamingWhatIsMissing() {
    assertThatThrownBy(
            () ->
                Idempotency.builder()
                    .connectionProvider(NO_CONNECTIONS)
                    .dialect(new Renamed("oracle", OutboxDialect.h2()))
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'oracle'")
        .hasMessageContaining("insert-if-absent")
        .hasMessageContaining("delete-with-limit")
        .hasMessageContaining("lock timeout")
        .hasMessageContaining("postgresql, mysql, mariadb, h2");
  }

  @Test
  void inboxAndSchemaWithAnUnknownDialectFailNamingIt() {
    OutboxDialect oracle = new Renamed("oracle", OutboxDialect.postgresql());
    assertThatThrownBy(
            () -> Inbox.builder().connectionProvider(NO_CONNECTIONS).dialect(oracle).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'oracle'");
    assertThatThrownBy(() -> IdempotencySchema.createStatements(oracle, KEYS, INBOX))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'oracle'")
        .hasMessageContaining("key and inbox tables");
  }

  @Test
  void aCustomDialectNamedLikeABuiltInDatabaseGetsThatDatabasesSql() {
    for (OutboxDialect builtIn :
        List.of(
            OutboxDialect.postgresql(),
            OutboxDialect.mysql(),
            OutboxDialect.mariadb(),
            OutboxDialect.h2())) {
      assertThat(
              IdempotencySchema.createStatements(
                  new Renamed(builtIn.name(), OutboxDialect.h2()), KEYS, INBOX))
          .isEqualTo(IdempotencySchema.createStatements(builtIn, KEYS, INBOX));
    }
  }

  private static final ConnectionProvider NO_CONNECTIONS =
      new ConnectionProvider() {
        @Override
        public <T> T withTransactionConnection(ConnectionCallback<T> work) throws SQLException {
          throw new SQLException("no database in this test");
        }
      };

  /** A user's dialect: another name over a built-in one's SQL. */
  private record Renamed(String name, OutboxDialect sql) implements OutboxDialect {
    @Override
    public boolean supportsSkipLocked() {
      return sql.supportsSkipLocked();
    }

    @Override
    public List<String> createTableStatements(OutboxTable table) {
      return sql.createTableStatements(table);
    }

    @Override
    public String insertStatement(OutboxTable table, int rows) {
      return sql.insertStatement(table, rows);
    }

    @Override
    public void setUuid(PreparedStatement statement, int index, UUID id) throws SQLException {
      sql.setUuid(statement, index, id);
    }

    @Override
    public UUID getUuid(ResultSet rs, String column) throws SQLException {
      return sql.getUuid(rs, column);
    }

    @Override
    public void setInstant(PreparedStatement statement, int index, Instant instant)
        throws SQLException {
      sql.setInstant(statement, index, instant);
    }

    @Override
    public @Nullable Instant getInstant(ResultSet rs, String column) throws SQLException {
      return sql.getInstant(rs, column);
    }

    @Override
    public boolean isMissingTable(SQLException e) {
      return sql.isMissingTable(e);
    }
  }
}
