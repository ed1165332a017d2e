package dev.outboxkit.idempotency.internal;

import dev.outboxkit.idempotency.internal.dialect.IdempotencyDialect;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * What differs between databases when a transaction claims a key that a concurrent transaction may
 * hold: how to insert-if-absent without an error, how long to wait for the other transaction's
 * lock, and how to survive a lock timeout without losing the caller's transaction.
 *
 * <p>The wait is the point: a second transaction inserting the same key blocks on the unique index
 * until the first commits (then it sees the key and replays) or rolls back (then it inserts and
 * runs the work). The lock timeout bounds that wait.
 */
public final class DialectSupport {

  /** The outcome of claiming a key. */
  public enum Claim {
    /** The key was absent and is now held by this transaction. */
    INSERTED,
    /** A committed row holds the key. */
    EXISTS,
    /** A concurrent transaction holds the key and did not finish within the lock timeout. */
    LOCKED
  }

  private final OutboxDialect dialect;
  private final IdempotencyDialect sql;

  /**
   * Chooses the database's idempotency SQL.
   *
   * @throws IllegalArgumentException for a dialect without idempotency SQL, naming what it lacks
   */
  public DialectSupport(OutboxDialect dialect) {
    this.dialect = dialect;
    this.sql = IdempotencyDialect.of(dialect);
  }

  public OutboxDialect dialect() {
    return dialect;
  }

  /**
   * An insert that does nothing, rather than fail, when the conflict columns already hold the key.
   */
  public String insertIfAbsent(String table, String columns, int values, String conflictColumns) {
    return sql.insertIfAbsent(table, columns, "?" + ", ?".repeat(values - 1), conflictColumns);
  }

  /**
   * Whether the driver sends the statements of one string (separated by semicolons) in one round
   * trip, so a {@code SAVEPOINT} or {@code RELEASE SAVEPOINT} can ride along with another
   * statement.
   */
  public boolean sendsStatementsTogether() {
    return sql.sendsStatementsTogether();
  }

  /** See {@link IdempotencyDialect#savepointNeedsRelease()}. */
  public boolean savepointNeedsRelease() {
    return sql.savepointNeedsRelease();
  }

  /** A suffix for a read that must see the latest committed row, not the transaction's snapshot. */
  public String latestCommittedRead() {
    return sql.latestCommittedRead();
  }

  /**
   * Deletes at most {@code limit} rows of {@code table} whose {@code expires_at} is before {@code
   * now}, never waiting for a row another transaction holds ({@link
   * IdempotencyDialect#purgeExpired}).
   *
   * @param keyColumns the table's primary key columns
   * @return the number of rows deleted, and whether the batch was full
   */
  public IdempotencyDialect.PurgedBatch purgeExpired(
      Connection connection, OutboxTable table, List<String> keyColumns, Instant now, int limit)
      throws SQLException {
    return sql.purgeExpired(connection, dialect, table.qualifiedName(), keyColumns, now, limit);
  }

  /** Binds the parameters of a statement. */
  @FunctionalInterface
  public interface Binder {
    void bind(PreparedStatement statement) throws SQLException;
  }

  /**
   * Runs an insert-if-absent with a bounded wait for a concurrent holder of the key.
   *
   * @param insert the statement of {@link #insertIfAbsent}
   * @param binder binds its parameters
   */
  public Claim claim(Connection connection, String insert, Binder binder, Duration lockTimeout)
      throws SQLException {
    return claim(connection, null, insert, binder, lockTimeout);
  }

  /**
   * Runs an insert-if-absent with a bounded wait, in the same round trip as {@code before} where
   * {@link #sendsStatementsTogether()}.
   *
   * @param before a statement that answers no rows (e.g. a {@code SAVEPOINT}), or {@code null}
   */
  public Claim claim(
      Connection connection,
      @Nullable String before,
      String insert,
      Binder binder,
      Duration lockTimeout)
      throws SQLException {
    int updated = boundedUpdate(connection, before, insert, binder, lockTimeout);
    return updated < 0 ? Claim.LOCKED : updated == 1 ? Claim.INSERTED : Claim.EXISTS;
  }

  /**
   * Runs an insert, update or delete that may wait for another transaction's row lock, with the
   * wait bounded by {@code lockTimeout}: in one round trip where the dialect can bound it so
   * ({@link IdempotencyDialect#boundedInOneRoundTrip}: the timeout, the savepoint and the statement
   * sent together on PostgreSQL, a statement that carries its own timeout on MariaDB), else step by
   * step.
   *
   * @return the update count, or {@code -1} when the lock was not granted in time (the caller's
   *     transaction is still usable); a duplicate key counts as 0 rows
   * @throws SQLException when the server rolled the whole transaction back ({@link
   *     #transactionLost}), or for any other failure
   */
  public int boundedUpdate(
      Connection connection, String statement, Binder binder, Duration lockTimeout)
      throws SQLException {
    return boundedUpdate(connection, null, statement, binder, lockTimeout);
  }

  private int boundedUpdate(
      Connection connection,
      @Nullable String before,
      String statement,
      Binder binder,
      Duration lockTimeout)
      throws SQLException {
    IdempotencyDialect.@Nullable Pipelined pipelined =
        sql.boundedInOneRoundTrip(statement, lockTimeout);
    if (before != null) {
      if (pipelined == null || !sql.sendsStatementsTogether()) {
        throw new IllegalStateException("The dialect does not send statements together");
      }
      pipelined = pipelined.after(before);
    }
    if (pipelined == null) {
      try (PreparedStatement prepared = connection.prepareStatement(statement)) {
        binder.bind(prepared);
        return boundedUpdate(connection, prepared, lockTimeout);
      }
    }
    try (PreparedStatement prepared = connection.prepareStatement(pipelined.sql())) {
      binder.bind(prepared);
      try {
        return pipelined.updateCount(prepared);
      } catch (SQLException e) {
        String undo = pipelined.undo();
        if (undo != null) {
          // The savepoint of the round trip undoes the statement and the lock timeout together.
          try (Statement undoing = connection.createStatement()) {
            undoing.execute(undo);
          } catch (SQLException undoFailed) {
            e.addSuppressed(undoFailed);
            throw e;
          }
        }
        return failed(connection, e);
      }
    }
  }

  /**
   * Runs a prepared insert, update or delete that may wait for another transaction's row lock, with
   * the wait bounded by {@code lockTimeout}, step by step: set the timeout, take a savepoint where
   * an error aborts the transaction, run the statement, restore the timeout.
   *
   * @return the update count, or {@code -1} when the lock was not granted in time (the caller's
   *     transaction is still usable); a duplicate key counts as 0 rows
   * @throws SQLException when the server rolled the whole transaction back ({@link
   *     #transactionLost}), or for any other failure
   */
  private int boundedUpdate(
      Connection connection, PreparedStatement statement, Duration lockTimeout)
      throws SQLException {
    String previous = sql.setLockTimeout(connection, lockTimeout);
    // Where an error aborts the whole transaction, a savepoint keeps the caller's transaction
    // usable after a lock timeout, a deadlock or a serialization failure.
    Savepoint savepoint = sql.errorAbortsTransaction() ? connection.setSavepoint() : null;
    SQLException failure = null;
    try {
      int updated = statement.executeUpdate();
      if (savepoint != null) {
        connection.releaseSavepoint(savepoint);
      }
      return updated;
    } catch (SQLException e) {
      failure = e;
      if (savepoint != null) {
        connection.rollback(savepoint);
      }
      return failed(connection, e);
    } finally {
      try {
        sql.restoreLockTimeout(connection, previous);
      } catch (SQLException restoreFailed) {
        if (failure != null) {
          failure.addSuppressed(restoreFailed);
        } else {
          throw restoreFailed;
        }
      }
    }
  }

  /** What a failed bounded statement means, once the caller's transaction is usable again. */
  private int failed(Connection connection, SQLException e) throws SQLException {
    if (transactionLost(connection, e)) {
      // The server rolled the whole transaction back: nothing may carry on in it.
      throw new TransactionLostException(e);
    }
    if (isLockTimeout(e) || sql.isRetryableConflict(e)) {
      return -1;
    }
    if (isDuplicateKey(e)) {
      return 0;
    }
    throw e;
  }

  /**
   * Whether the server rolled back the caller's whole transaction: a deadlock on MySQL/MariaDB, or
   * a lock timeout with {@code innodb_rollback_on_timeout=ON}. The caller must not carry on as if
   * its earlier writes were still there.
   */
  public boolean transactionLost(Connection connection, SQLException e) throws SQLException {
    return sql.transactionLost(connection, e);
  }

  /** The server rolled back the caller's whole transaction while it waited for a key. */
  public static final class TransactionLostException extends SQLException {
    private static final long serialVersionUID = 1L;

    TransactionLostException(SQLException cause) {
      super(
          "The database rolled the transaction back while waiting for an idempotency key ("
              + cause.getMessage()
              + ")",
          cause.getSQLState(),
          cause.getErrorCode(),
          cause);
    }
  }

  boolean isLockTimeout(SQLException e) {
    return sql.isLockTimeout(e);
  }

  boolean isDuplicateKey(SQLException e) {
    return "23505".equals(e.getSQLState()) || e.getErrorCode() == 1062;
  }
}
