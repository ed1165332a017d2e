package dev.outboxkit.idempotency.internal;

import dev.outboxkit.idempotency.internal.dialect.IdempotencyDialect;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** The statements on the inbox table. */
public final class InboxSql {

  private final DialectSupport support;
  private final OutboxTable table;
  private final String insert;

  private InboxSql(DialectSupport support, OutboxTable table) {
    this.support = support;
    this.table = table;
    this.insert =
        support.insertIfAbsent(
            table.qualifiedName(),
            "consumer, message_id, created_at, expires_at",
            4,
            "consumer, message_id");
  }

  public static InboxSql of(OutboxDialect dialect, OutboxTable table) {
    return new InboxSql(new DialectSupport(dialect), table);
  }

  public OutboxTable table() {
    return table;
  }

  public DialectSupport.Claim claim(
      Connection c,
      String consumer,
      String messageId,
      Instant now,
      Instant expiresAt,
      Duration lockTimeout)
      throws SQLException {
    return support.claim(
        c,
        insert,
        statement -> {
          statement.setString(1, consumer);
          statement.setString(2, messageId);
          support.dialect().setInstant(statement, 3, now);
          support.dialect().setInstant(statement, 4, expiresAt);
        },
        lockTimeout);
  }

  public IdempotencyDialect.PurgedBatch purge(Connection c, Instant now, int limit)
      throws SQLException {
    return support.purgeExpired(c, table, List.of("consumer", "message_id"), now, limit);
  }
}
