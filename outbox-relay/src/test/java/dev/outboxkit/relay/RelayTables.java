package dev.outboxkit.relay;

import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/** Creates the outbox and relay tables (default names) for a test; returns the dialect. */
public final class RelayTables {

  private RelayTables() {}

  public static OutboxDialect create(DataSource dataSource) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      OutboxDialect dialect = OutboxDialect.detect(c);
      OutboxSchema.create(c, dialect, OutboxTable.DEFAULT);
      RelaySchema.create(
          c,
          dialect,
          OutboxTable.DEFAULT,
          OutboxTable.of(RelayDefaults.LEASE_TABLE),
          OutboxTable.of(RelayDefaults.MEMBER_TABLE));
      return dialect;
    }
  }
}
