package dev.outboxkit.chaos;

import dev.outboxkit.idempotency.IdempotencyDefaults;
import dev.outboxkit.idempotency.IdempotencySchema;
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
 * empties them: a run starts from nothing, so its ledger is the whole truth. With {@link
 * KeyLoad#enabled()}, also the idempotency key and inbox tables (default names), from which it
 * deletes the kit's own rows (scopes and consumers {@code outboxkit-chaos-w...}) only.
 */
final class Schema {

  private Schema() {}

  static OutboxDialect prepare(DataSource dataSource, Mode mode, KeyLoad keys) throws SQLException {
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
      if (keys.enabled()) {
        IdempotencySchema.create(
            c,
            dialect,
            OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
            OutboxTable.of(IdempotencyDefaults.INBOX_TABLE));
      }
      try (Statement s = c.createStatement()) {
        s.execute("DELETE FROM " + OutboxTable.DEFAULT.qualifiedName());
        s.execute("DELETE FROM " + RelayDefaults.LEASE_TABLE);
        s.execute("DELETE FROM " + RelayDefaults.MEMBER_TABLE);
        if (keys.enabled()) {
          s.execute(
              "DELETE FROM "
                  + IdempotencyDefaults.KEY_TABLE
                  + " WHERE scope LIKE '"
                  + KeyClaims.SCOPE_PREFIX
                  + "%'");
          s.execute(
              "DELETE FROM "
                  + IdempotencyDefaults.INBOX_TABLE
                  + " WHERE consumer LIKE '"
                  + KeyClaims.SCOPE_PREFIX
                  + "%'");
        }
      }
      if (!c.getAutoCommit()) {
        c.commit();
      }
      return dialect;
    }
  }
}
