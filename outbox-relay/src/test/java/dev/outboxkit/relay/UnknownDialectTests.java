package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcSchema;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.h2.jdbcx.JdbcDataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * A dialect the relay has no SQL for fails when the relay is built, naming what it lacks, instead
 * of running a built-in database's SQL in a {@code default} branch.
 */
class UnknownDialectTests {

  private static final OutboxTable OUTBOX = OutboxTable.DEFAULT;
  private static final OutboxTable LEASES = OutboxTable.of("outbox_lease");
  private static final OutboxTable MEMBERS = OutboxTable.of("outbox_member");
  private static final OutboxTable STATE = OutboxTable.of("outbox_cdc_state");

  @Test
  void aRelayWithAnUnknownDialectFailsAtBuildNamingWhatIsMissing() {
    assertThatThrownBy(
            () ->
                OutboxRelay.builder()
                    .dataSource(new JdbcDataSource())
                    .config(RelayConfig.custom().bootstrapServers("localhost:9092").build())
                    .dialect(new Renamed("oracle", OutboxDialect.postgresql()))
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'oracle'")
        .hasMessageContaining("lease and member tables")
        .hasMessageContaining("add-column-if-not-exists")
        .hasMessageContaining("delete-with-limit")
        .hasMessageContaining("postgresql, mysql, mariadb, h2");
  }

  @Test
  void theRelaysTablesOfAnUnknownDialectFailNamingIt() {
    OutboxDialect oracle = new Renamed("oracle", OutboxDialect.h2());
    assertThatThrownBy(() -> RelaySchema.createStatements(oracle, OUTBOX, LEASES, MEMBERS))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'oracle'");
    assertThatThrownBy(() -> RelaySchema.upgradeStatements(oracle, MEMBERS))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'oracle'");
  }

  @Test
  void cdcTablesOfADatabaseWithoutAChangeLogSourceFailNamingWhatIsMissing() {
    for (OutboxDialect noChangeLog :
        List.of(new Renamed("oracle", OutboxDialect.postgresql()), OutboxDialect.h2())) {
      assertThatThrownBy(() -> CdcSchema.createStatements(noChangeLog, STATE))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("'" + noChangeLog.name() + "'")
          .hasMessageContaining("Debezium connector")
          .hasMessageContaining("postgresql, mariadb, mysql")
          .hasMessageContaining("outbox.relay.mode=polling");
    }
  }

  @Test
  void aCustomDialectNamedLikeABuiltInDatabaseGetsThatDatabasesSql() {
    for (OutboxDialect builtIn :
        List.of(
            OutboxDialect.postgresql(),
            OutboxDialect.mysql(),
            OutboxDialect.mariadb(),
            OutboxDialect.h2())) {
      OutboxDialect custom = new Renamed(builtIn.name(), OutboxDialect.h2());
      assertThat(RelaySchema.createStatements(custom, OUTBOX, LEASES, MEMBERS))
          .isEqualTo(RelaySchema.createStatements(builtIn, OUTBOX, LEASES, MEMBERS));
      assertThat(RelaySchema.upgradeStatements(custom, MEMBERS))
          .isEqualTo(RelaySchema.upgradeStatements(builtIn, MEMBERS));
    }
  }

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
