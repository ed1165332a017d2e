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
   * such a cycle. So by default, on one connection: a plain read ({@link #expiredCandidates}), in
   * autocommit mode, names up to {@code limit} expired rows and locks nothing; then, in one short
   * transaction, a locking read by primary key that skips locked rows ({@link #lockByKeys}) takes
   * those of them that nobody holds and that have still expired (a row renewed since the plain read
   * is left); a delete by primary key ({@link #deleteByKeys}) removes exactly those. The purge
   * never waits, so it holds its locks only for the milliseconds of its own statements.
   *
   * <p>The transaction keeps the connection's isolation level: InnoDB refuses {@code READ
   * COMMITTED} where the binary log is statement-based (error 1665, review16). Under InnoDB's
   * {@code REPEATABLE READ} a locking range read on {@code expires_at} would also lock the gaps it
   * scans, up to the end of the index when every row has expired, which is where every new key's
   * {@code expires_at} goes: each new key waited for the purge's transaction (review17; with a 1 s
   * lock timeout every claim was answered "in flight"). Point reads and deletes by the whole
   * primary key lock the rows they find and no gap, with one exception InnoDB makes for any locking
   * access by key: a key that is the first record of its B-tree page is found from the previous
   * page's end, whose gap it locks too. So an application's insert waits for the purge only when
   * its primary key falls between two pages where the purge took the first row of the second
   * (measured: 4 such gaps among 1,000 purged keys, on MySQL 8.0 and MariaDB 11.4 alike), or when
   * its key was renewed between the purge's two reads (the locking read keeps its lock on the row
   * its recheck of {@code expires_at} rejected, review18), and only for the purge's own statements;
   * the purge never waits for it: no lock cycle. Held rows are passed over, not waited for; the
   * next batch reads that many more candidates ({@link PurgedBatch#passedOver}), so held rows at
   * the head of the table never stop the purge.
   *
   * @param connection a connection in autocommit mode; it is left in autocommit mode
   * @param keyColumns the table's primary key columns
   * @return the number of rows deleted, and whether the batch found {@code limit} expired rows
   */
  public PurgedBatch purgeExpired(
      Connection connection,
      OutboxDialect dialect,
      String table,
      List<String> keyColumns,
      Instant now,
      int limit)
      throws SQLException {
    // The plain read runs before the transaction: inside it, it would open the transaction's read
    // view, and MariaDB 11.6.2+ (innodb_snapshot_isolation, on by default there) fails a locking
    // read of a row changed since then with error 1020, so one candidate renewed in between would
    // fail the batch.
    List<String[]> candidates = new ArrayList<>();
    try (PreparedStatement read =
        connection.prepareStatement(expiredCandidates(table, String.join(", ", keyColumns)))) {
      dialect.setInstant(read, 1, now);
      read.setInt(2, limit);
      collectKeys(read, keyColumns.size(), candidates);
    }
    if (candidates.isEmpty()) {
      return new PurgedBatch(0, 0, false);
    }
    connection.setAutoCommit(false);
    @Nullable Exception failure = null;
    try {
      int deleted = lockAndDelete(connection, dialect, table, keyColumns, now, candidates);
      connection.commit();
      return new PurgedBatch(deleted, candidates.size() - deleted, candidates.size() >= limit);
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
      List<String[]> candidates)
      throws SQLException {
    List<String[]> locked = new ArrayList<>();
    for (List<String[]> some : chunks(candidates)) {
      try (PreparedStatement lock =
          connection.prepareStatement(lockByKeys(table, keyColumns, some.size()))) {
        bindKeys(lock, dialect, now, some);
        collectKeys(lock, keyColumns.size(), locked);
      }
    }
    int deleted = 0;
    for (List<String[]> some : chunks(locked)) {
      try (PreparedStatement delete =
          connection.prepareStatement(deleteByKeys(table, keyColumns, some.size()))) {
        bindKeys(delete, dialect, now, some);
        deleted += delete.executeUpdate();
      }
    }
    return deleted;
  }

  /**
   * What one batch of {@link #purgeExpired} did.
   *
   * @param deleted the rows it deleted
   * @param passedOver the expired rows it found but left: held by other transactions, or renewed
   *     since it read them. They are still there for the next batch's read, which must read that
   *     many more to get past them (else a batch's worth of held rows would stop the purge)
   * @param full whether it found {@code limit} expired rows, so that more may be left: a batch that
   *     passed rows over deletes fewer than it found, and the table is not done for that
   */
  public record PurgedBatch(int deleted, int passedOver, boolean full) {}

  private static void collectKeys(PreparedStatement query, int columns, List<String[]> into)
      throws SQLException {
    try (ResultSet rs = query.executeQuery()) {
      while (rs.next()) {
        String[] key = new String[columns];
        for (int i = 0; i < columns; i++) {
          key[i] = rs.getString(i + 1);
        }
        into.add(key);
      }
    }
  }

  /** Binds {@code now} first, then the columns of each key in order. */
  private static void bindKeys(
      PreparedStatement statement, OutboxDialect dialect, Instant now, List<String[]> keys)
      throws SQLException {
    int p = 1;
    dialect.setInstant(statement, p++, now);
    for (String[] key : keys) {
      for (String value : key) {
        statement.setString(p++, value);
      }
    }
  }

  private static List<List<String[]>> chunks(List<String[]> keys) {
    List<List<String[]>> chunks = new ArrayList<>();
    for (int from = 0; from < keys.size(); from += KEYS_PER_DELETE) {
      chunks.add(keys.subList(from, Math.min(keys.size(), from + KEYS_PER_DELETE)));
    }
    return chunks;
  }

  /**
   * Keys per locking read and per delete of {@link #purgeExpired}: 1,001 parameters for two key
   * columns.
   */
  static final int KEYS_PER_DELETE = 500;

  /**
   * A plain (non-locking) read of the key columns of at most {@code ?} (second parameter) rows of
   * {@code table} whose {@code expires_at} is before {@code ?} (first parameter): the candidates,
   * which {@link #lockByKeys} then locks one by one. It must take no lock: a locking range read
   * locks, under {@code REPEATABLE READ}, the gaps it scans, among them the one above the newest
   * entry of the {@code expires_at} index, where every new key goes.
   */
  protected String expiredCandidates(String table, String keyColumns) {
    return "SELECT "
        + keyColumns
        + " FROM "
        + table
        + " WHERE expires_at < ? FETCH FIRST ? ROWS ONLY";
  }

  /**
   * A locking read of the key columns of the rows of {@code table} named by {@code rows} primary
   * keys (their columns bound in order after the first parameter) whose {@code expires_at} is still
   * before {@code ?} (first parameter), which skips rows that other transactions hold instead of
   * waiting for them. It must reach them by the primary key alone, one point per key: an equality
   * on every column of a unique key locks the row it finds and no gap ({@link #byPrimaryKey} makes
   * sure of that where the optimizer might choose otherwise).
   */
  protected String lockByKeys(String table, List<String> keyColumns, int rows) {
    return "SELECT "
        + String.join(", ", keyColumns)
        + " FROM "
        + byPrimaryKey(table)
        + " WHERE expires_at < ? AND "
        + namedByKeys(keyColumns, rows)
        + " FOR UPDATE SKIP LOCKED";
  }

  /**
   * {@code tableReference} (a table, or a table and its alias) as a read or delete by primary key
   * names it in its {@code FROM} clause: as it is by default, for a database whose optimizer
   * reaches rows named by their whole primary key through that key; with an index hint where the
   * optimizer may choose another index or a scan. {@link #lockByKeys} names its table through it; a
   * dialect whose hint does not fit {@link #deleteByKeys}'s single-table form overrides that too.
   */
  protected String byPrimaryKey(String tableReference) {
    return tableReference;
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
