package dev.outboxkit.idempotency.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What the key table and the inbox need from one database, asked as capabilities (in the manner of
 * db-scheduler's {@code JdbcCustomization}) instead of by switching on the database's name: the
 * tables, insert-if-absent, delete-with-limit, a lock timeout set and restored, which errors mean a
 * lock timeout, a retryable conflict or a lost transaction, and whether an error aborts the
 * transaction (then a savepoint guards each statement that may fail).
 *
 * <p>One instance per key or inbox table: an instance may remember a server setting it read once.
 */
public abstract class IdempotencyDialect {

  private static final List<Named> KNOWN =
      List.of(
          new Named(PostgresIdempotencyDialect.NAMES, PostgresIdempotencyDialect::new),
          new Named(MySqlIdempotencyDialect.NAMES, MySqlIdempotencyDialect::new),
          new Named(MariaDbIdempotencyDialect.NAMES, MariaDbIdempotencyDialect::new),
          new Named(H2IdempotencyDialect.NAMES, H2IdempotencyDialect::new));

  /**
   * The idempotency SQL for a dialect, chosen once.
   *
   * @throws IllegalArgumentException naming the dialect and what it lacks, for a dialect whose name
   *     is none of the built-in databases'
   */
  public static IdempotencyDialect of(OutboxDialect dialect) {
    for (Named known : KNOWN) {
      if (known.names().contains(dialect.name())) {
        return known.factory().get();
      }
    }
    throw new IllegalArgumentException(
        "Idempotency keys and the inbox have no SQL for the dialect '"
            + dialect.name()
            + "' ("
            + dialect.getClass().getName()
            + "): they need its insert-if-absent, delete-with-limit, lock timeout (set and"
            + " restored), recognition of lock-timeout, conflict and lost-transaction errors, and"
            + " the key and inbox tables, which exist for "
            + String.join(", ", KNOWN.stream().flatMap(k -> k.names().stream()).toList())
            + ". Use one of those dialects (OutboxDialect.named(...)).");
  }

  private record Named(
      List<String> names, java.util.function.Supplier<IdempotencyDialect> factory) {}

  /** The statements that create the key table, the inbox table and their indexes when missing. */
  public abstract List<String> createStatements(OutboxTable keys, OutboxTable inbox);

  /**
   * The statements of {@link #createStatements} that a start on existing tables still has to run.
   * All of them by default; a database whose {@code CREATE INDEX IF NOT EXISTS} locks the table
   * before it notices the index exists leaves out, after asking its catalog, the indexes that are
   * there: a lock that waits for a handler's open transaction holds up every later one.
   *
   * @param connection a connection to ask the catalog through
   */
  public List<String> createMissingStatements(
      Connection connection, OutboxTable keys, OutboxTable inbox) throws SQLException {
    return createStatements(keys, inbox);
  }

  /**
   * An insert that does nothing, rather than fail, when the conflict columns already hold the key.
   */
  public abstract String insertIfAbsent(
      String table, String columns, String placeholders, String conflictColumns);

  /** A suffix for a read that must see the latest committed row, not the transaction's snapshot. */
  public String latestCommittedRead() {
    return "";
  }

  /**
   * Deletes at most {@code limit} rows of {@code table} whose {@code expires_at} is before {@code
   * now}, and never waits for a row another transaction holds: that row is left for a later purge.
   *
   * <p>The purge is housekeeping, so it must never be one side of a lock cycle with an
   * application's transaction (which replaces an expired key, or skips a redelivered message, while
   * the purge runs): the database would break the cycle by rolling one side back, and InnoDB picks
   * the side that has written less, the application's. A plain {@code DELETE ... WHERE expires_at <
   * ?} waits for each locked row in its scan while holding the rows it deleted before it, which is
   * such a cycle. So by default, on one connection in a short transaction, a locking read that
   * skips locked rows ({@link #lockExpired}) takes the expired rows, and a delete by primary key
   * ({@link #deleteByKeys}) removes exactly those. The purge never waits, so it holds its locks
   * only for the milliseconds of its own statements.
   *
   * <p>The transaction keeps the connection's isolation level: InnoDB refuses {@code READ
   * COMMITTED} where the binary log is statement-based (error 1665, review16). Under {@code
   * REPEATABLE READ} the locking read also takes gap locks: among expired entries of the {@code
   * expires_at} index, and, when every row has expired or the optimizer scans the table, where an
   * application's new key goes (review17). An application's insert may then wait for the purge, for
   * the milliseconds of the purge's own statements (it never waits itself), never the other way
   * round: no lock cycle.
   *
   * @param connection a connection in autocommit mode; it is left in autocommit mode
   * @param keyColumns the table's primary key columns
   * @return the number of rows deleted
   */
  public int purgeExpired(
      Connection connection,
      OutboxDialect dialect,
      String table,
      List<String> keyColumns,
      Instant now,
      int limit)
      throws SQLException {
    connection.setAutoCommit(false);
    @Nullable Exception failure = null;
    try {
      int deleted = lockAndDelete(connection, dialect, table, keyColumns, now, limit);
      connection.commit();
      return deleted;
    } catch (SQLException | RuntimeException e) {
      try {
        connection.rollback();
      } catch (SQLException rollback) {
        e.addSuppressed(rollback);
      }
      failure = e;
      throw e;
    } finally {
      // The purge's failure, not a restore's on the same broken connection, reaches the caller.
      try {
        connection.setAutoCommit(true);
      } catch (SQLException restore) {
        if (failure == null) {
          throw restore;
        }
        failure.addSuppressed(restore);
      }
    }
  }

  private int lockAndDelete(
      Connection connection,
      OutboxDialect dialect,
      String table,
      List<String> keyColumns,
      Instant now,
      int limit)
      throws SQLException {
    List<String[]> keys = new ArrayList<>();
    try (PreparedStatement lock =
        connection.prepareStatement(lockExpired(table, String.join(", ", keyColumns)))) {
      dialect.setInstant(lock, 1, now);
      lock.setInt(2, limit);
      try (ResultSet rs = lock.executeQuery()) {
        while (rs.next()) {
          String[] key = new String[keyColumns.size()];
          for (int i = 0; i < key.length; i++) {
            key[i] = rs.getString(i + 1);
          }
          keys.add(key);
        }
      }
    }
    int deleted = 0;
    for (int from = 0; from < keys.size(); from += KEYS_PER_DELETE) {
      List<String[]> some = keys.subList(from, Math.min(keys.size(), from + KEYS_PER_DELETE));
      try (PreparedStatement delete =
          connection.prepareStatement(deleteByKeys(table, keyColumns, some.size()))) {
        int p = 1;
        dialect.setInstant(delete, p++, now);
        for (String[] key : some) {
          for (String value : key) {
            delete.setString(p++, value);
          }
        }
        deleted += delete.executeUpdate();
      }
    }
    return deleted;
  }

  /** Keys per delete of {@link #purgeExpired}: 1,001 parameters for two key columns. */
  static final int KEYS_PER_DELETE = 500;

  /**
   * A locking read of the key columns of at most {@code ?} (second parameter) rows of {@code table}
   * whose {@code expires_at} is before {@code ?} (first parameter), which skips rows that other
   * transactions hold instead of waiting for them.
   */
  protected String lockExpired(String table, String keyColumns) {
    return "SELECT "
        + keyColumns
        + " FROM "
        + table
        + " WHERE expires_at < ? FETCH FIRST ? ROWS ONLY FOR UPDATE SKIP LOCKED";
  }

  /**
   * A delete of the rows of {@code table} named by {@code rows} primary keys (their columns bound
   * in order after the first parameter) whose {@code expires_at} is still before {@code ?} (first
   * parameter). It must reach them by the primary key alone: a scan of other rows could wait for a
   * row an application holds.
   */
  protected String deleteByKeys(String table, List<String> keyColumns, int rows) {
    return "DELETE FROM " + table + " WHERE expires_at < ? AND " + namedByKeys(keyColumns, rows);
  }

  /** {@code (k1 = ? AND k2 = ?) OR (k1 = ? AND k2 = ?) ...}, in parentheses. */
  static String namedByKeys(List<String> keyColumns, int rows) {
    String one =
        "("
            + String.join(" AND ", keyColumns.stream().map(column -> column + " = ?").toList())
            + ")";
    return "(" + String.join(" OR ", Collections.nCopies(rows, one)) + ")";
  }

  /**
   * Whether any error aborts the whole transaction, so that a statement which may fail needs a
   * savepoint for the caller's transaction to stay usable.
   */
  public boolean errorAbortsTransaction() {
    return false;
  }

  /**
   * Sets how long statements of this transaction (or session) wait for another transaction's lock.
   *
   * @return the previous setting, for {@link #restoreLockTimeout}
   */
  public abstract String setLockTimeout(Connection connection, Duration timeout)
      throws SQLException;

  /** Restores the setting {@link #setLockTimeout} returned. */
  public abstract void restoreLockTimeout(Connection connection, String previous)
      throws SQLException;

  /**
   * Whether the driver sends the statements of one string (separated by semicolons) in one round
   * trip and answers each in turn; then {@link #boundedInOneRoundTrip} is not {@code null}, and a
   * {@code SAVEPOINT} or {@code RELEASE SAVEPOINT} can ride along with another statement.
   *
   * @since 0.8
   */
  public boolean sendsStatementsTogether() {
    return false;
  }

  /**
   * {@code statement} in a form that bounds its wait for another transaction's lock by {@code
   * timeout} in one round trip, and leaves the session's own lock timeout as it was: several
   * statements sent together where the driver {@link #sendsStatementsTogether} (savepoint, timeout,
   * statement, restore), or one statement that carries the timeout for its own duration. {@code
   * null} (the default) when the dialect does this step by step: {@link #setLockTimeout}, a
   * savepoint where {@link #errorAbortsTransaction}, the statement, {@link #restoreLockTimeout}.
   * The bounded form binds the same parameters.
   *
   * @param statement an insert, update or delete with {@code ?} parameters
   * @param timeout how long the statement may wait for another transaction's lock
   * @since 0.8
   */
  public @Nullable Pipelined boundedInOneRoundTrip(String statement, Duration timeout) {
    return null;
  }

  /**
   * A statement with its lock timeout (and, where needed, its savepoint), sent in one round trip.
   *
   * @param sql the statement or statements, in one string the driver sends in one round trip
   * @param position the 0-based position of the wrapped statement's result among the results
   * @param undo run after a failure so that the caller's transaction is usable again and the lock
   *     timeout is the session's own (back to the savepoint, then release it); {@code null} when a
   *     failure leaves nothing to undo (a statement that carries its timeout for its own duration,
   *     on a database where a failed statement does not abort the transaction)
   */
  public record Pipelined(String sql, int position, @Nullable String undo) {

    /**
     * This round trip with {@code statement} (one that answers no rows) sent first; only where the
     * driver {@link #sendsStatementsTogether}.
     */
    public Pipelined after(String statement) {
      return new Pipelined(statement + "; " + sql, position + 1, undo);
    }

    /** Executes the bound statement and answers the wrapped statement's update count. */
    public int updateCount(PreparedStatement statement) throws SQLException {
      statement.execute();
      for (int i = 0; i < position; i++) {
        statement.getMoreResults();
      }
      return statement.getUpdateCount();
    }
  }

  /**
   * Whether a savepoint that served its purpose must be released by a statement of its own. {@code
   * false} where the database keeps a savepoint until the transaction ends at no cost that matters
   * and under a name nothing else reuses, so that skipping {@code RELEASE SAVEPOINT} saves a round
   * trip and changes nothing the transaction can observe: a later rollback to an earlier savepoint
   * drops it, the commit or rollback ends it.
   *
   * @since 0.8
   */
  public boolean savepointNeedsRelease() {
    return true;
  }

  /** Whether a statement failed because a lock was not granted in time. */
  public abstract boolean isLockTimeout(SQLException e);

  /**
   * Whether a statement failed on a conflict with a concurrent transaction (deadlock, serialization
   * failure) that is handled like a lock timeout.
   */
  public boolean isRetryableConflict(SQLException e) {
    return false;
  }

  /**
   * Whether the server rolled back the caller's whole transaction with this error, so nothing may
   * carry on as if its earlier writes were still there.
   */
  public boolean transactionLost(Connection connection, SQLException e) throws SQLException {
    return false;
  }

  /** The first column of the one row a query answers. */
  static String single(PreparedStatement statement) throws SQLException {
    try (ResultSet rs = statement.executeQuery()) {
      rs.next();
      return rs.getString(1);
    }
  }
}
