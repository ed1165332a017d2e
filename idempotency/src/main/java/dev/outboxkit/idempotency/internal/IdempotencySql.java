package dev.outboxkit.idempotency.internal;

import dev.outboxkit.idempotency.IdempotencyKey;
import dev.outboxkit.idempotency.internal.dialect.IdempotencyDialect;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/** The statements on the idempotency key table. */
public final class IdempotencySql {

  /** A committed key. */
  public record StoredKey(
      String fingerprint, byte @Nullable [] result, Instant createdAt, Instant expiresAt) {}

  private final DialectSupport support;
  private final OutboxTable table;
  private final String insert;
  private final String select;

  private IdempotencySql(DialectSupport support, OutboxTable table) {
    this.support = support;
    this.table = table;
    String t = table.qualifiedName();
    this.insert =
        support.insertIfAbsent(
            t, "scope, idem_key, fingerprint, created_at, expires_at", 5, "scope, idem_key");
    this.select =
        "SELECT fingerprint, result, created_at, expires_at FROM "
            + t
            + " WHERE scope = ? AND idem_key = ?"
            + support.latestCommittedRead();
  }

  public static IdempotencySql of(OutboxDialect dialect, OutboxTable table) {
    return new IdempotencySql(new DialectSupport(dialect), table);
  }

  public OutboxTable table() {
    return table;
  }

  /** See {@link DialectSupport#sendsStatementsTogether()}. */
  public boolean sendsStatementsTogether() {
    return support.sendsStatementsTogether();
  }

  /** See {@link DialectSupport#savepointNeedsRelease()}. */
  public boolean savepointNeedsRelease() {
    return support.savepointNeedsRelease();
  }

  public DialectSupport.Claim claim(
      Connection c,
      IdempotencyKey key,
      String fingerprint,
      Instant now,
      Instant expiresAt,
      Duration lockTimeout)
      throws SQLException {
    return claim(c, null, key, fingerprint, now, expiresAt, lockTimeout);
  }

  /**
   * Claims the key in the same round trip as {@code before} (see {@link
   * DialectSupport#sendsStatementsTogether()}).
   *
   * @param before a statement that answers no rows, or {@code null}
   */
  public DialectSupport.Claim claim(
      Connection c,
      @Nullable String before,
      IdempotencyKey key,
      String fingerprint,
      Instant now,
      Instant expiresAt,
      Duration lockTimeout)
      throws SQLException {
    return support.claim(
        c,
        before,
        insert,
        statement -> {
          statement.setString(1, key.scope());
          statement.setString(2, key.key());
          statement.setString(3, fingerprint);
          support.dialect().setInstant(statement, 4, now);
          support.dialect().setInstant(statement, 5, expiresAt);
        },
        lockTimeout);
  }

  public @Nullable StoredKey find(Connection c, IdempotencyKey key) throws SQLException {
    try (PreparedStatement statement = c.prepareStatement(select)) {
      statement.setString(1, key.scope());
      statement.setString(2, key.key());
      try (ResultSet rs = statement.executeQuery()) {
        if (!rs.next()) {
          return null;
        }
        OutboxDialect dialect = support.dialect();
        return new StoredKey(
            rs.getString("fingerprint"),
            rs.getBytes("result"),
            Objects.requireNonNull(dialect.getInstant(rs, "created_at")),
            Objects.requireNonNull(dialect.getInstant(rs, "expires_at")));
      }
    }
  }

  public void saveResult(Connection c, IdempotencyKey key, byte @Nullable [] result)
      throws SQLException {
    saveResult(c, key, result, null);
  }

  /**
   * Stores the result, in the same round trip as {@code after} (see {@link
   * DialectSupport#sendsStatementsTogether()}).
   *
   * @param after a statement that answers no rows, or {@code null}
   */
  public void saveResult(
      Connection c, IdempotencyKey key, byte @Nullable [] result, @Nullable String after)
      throws SQLException {
    try (PreparedStatement statement =
        c.prepareStatement(
            "UPDATE "
                + table.qualifiedName()
                + " SET result = ? WHERE scope = ? AND idem_key = ?"
                + (after == null ? "" : "; " + after))) {
      if (result == null) {
        statement.setNull(1, Types.VARBINARY);
      } else {
        statement.setBytes(1, result);
      }
      statement.setString(2, key.scope());
      statement.setString(3, key.key());
      statement.execute();
    }
  }

  /**
   * Deletes the key if it expired before {@code now}, waiting at most {@code lockTimeout} for a
   * concurrent transaction that is replacing it too.
   *
   * @return {@code false} when that transaction held the row past the timeout
   */
  public boolean deleteExpired(Connection c, IdempotencyKey key, Instant now, Duration lockTimeout)
      throws SQLException {
    return support.boundedUpdate(
            c,
            "DELETE FROM "
                + table.qualifiedName()
                + " WHERE scope = ? AND idem_key = ? AND expires_at < ?",
            statement -> {
              statement.setString(1, key.scope());
              statement.setString(2, key.key());
              support.dialect().setInstant(statement, 3, now);
            },
            lockTimeout)
        >= 0;
  }

  public IdempotencyDialect.PurgedBatch purge(Connection c, Instant now, int limit)
      throws SQLException {
    return support.purgeExpired(c, table, List.of("scope", "idem_key"), now, limit);
  }
}
