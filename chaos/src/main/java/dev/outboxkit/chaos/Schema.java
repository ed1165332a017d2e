package dev.outboxkit.chaos;

import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.RelaySchema;
import dev.outboxkit.relay.cdc.CdcSchema;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;

/**
 * Creates the outbox, lease and (for CDC) state tables with their default names when missing, and
 * empties them: a run starts from nothing, so its ledger is the whole truth.
 */
final class Schema {

  private Schema() {}

  static OutboxDialect prepare(DataSource dataSource, Mode mode) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      OutboxDialect dialect = OutboxDialect.detect(c);
      OutboxSchema.create(c, dialect, OutboxTable.DEFAULT);
      RelaySchema.create(
          c,
          dialect,
          OutboxTable.DEFAULT,
          OutboxTable.of(RelayDefaults.LEASE_TABLE),
          OutboxTable.of(RelayDefaults.MEMBER_TABLE));
      if (mode == Mode.CDC) {
        CdcSchema.create(c, dialect, OutboxTable.of(RelayDefaults.CDC_STATE_TABLE));
      }
      try (Statement s = c.createStatement()) {
        s.execute("DELETE FROM " + OutboxTable.DEFAULT.qualifiedName());
        s.execute("DELETE FROM " + RelayDefaults.LEASE_TABLE);
        s.execute("DELETE FROM " + RelayDefaults.MEMBER_TABLE);
      }
      if (!c.getAutoCommit()) {
        c.commit();
      }
      return dialect;
    }
  }
}
