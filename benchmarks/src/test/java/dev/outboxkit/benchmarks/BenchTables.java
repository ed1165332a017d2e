package dev.outboxkit.benchmarks;

import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.RelaySchema;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/** What every benchmark that runs OutboxKit's relay sets up the same way: tables and payloads. */
public final class BenchTables {

  private BenchTables() {}

  /**
   * Creates the default outbox table and the polling relay's lease and member tables (if absent),
   * and returns the database's dialect.
   */
  public static OutboxDialect createOutboxAndRelayTables(DataSource dataSource)
      throws SQLException {
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

  /** A payload of {@code size} bytes, the letters a to z over and over. */
  public static byte[] letters(int size) {
    byte[] bytes = new byte[size];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) ('a' + i % 26);
    }
    return bytes;
  }
}
