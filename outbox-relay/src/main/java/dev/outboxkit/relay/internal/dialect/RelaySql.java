package dev.outboxkit.relay.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * What the relay's own tables and housekeeping need from one database, asked as capabilities (in
 * the manner of db-scheduler's {@code JdbcCustomization}) instead of by switching on the database's
 * name: the lease and member tables, adding a column if it does not exist, a column type with its
 * default, and a delete of a bounded number of rows. The publishing path's SQL comes from the
 * {@link OutboxDialect} itself. Immutable.
 */
public abstract class RelaySql {

  private static final List<Named> KNOWN =
      List.of(
          new Named(PostgresRelaySql.NAME, PostgresRelaySql::new),
          new Named(MySqlRelaySql.NAME, MySqlRelaySql::new),
          new Named(MariaDbRelaySql.NAME, MariaDbRelaySql::new),
          new Named(H2RelaySql.NAME, H2RelaySql::new));

  private record Named(String name, Supplier<RelaySql> factory) {}

  /**
   * The relay's SQL for a dialect, chosen once.
   *
   * @throws IllegalArgumentException naming the dialect and what it lacks, for a dialect whose name
   *     is none of the built-in databases'
   */
  public static RelaySql of(OutboxDialect dialect) {
    for (Named known : KNOWN) {
      if (known.name().equals(dialect.name())) {
        return known.factory().get();
      }
    }
    throw new IllegalArgumentException(
        "The relay has no SQL for the dialect '"
            + dialect.name()
            + "' ("
            + dialect.getClass().getName()
            + "): it needs its lease and member tables, add-column-if-not-exists and"
            + " delete-with-limit, which exist for "
            + String.join(", ", KNOWN.stream().map(Named::name).toList())
            + ". Use one of those dialects (OutboxDialect.named(...)).");
  }

  /**
   * The statements that create the lease and member tables (and where the database can wake relays,
   * the trigger on the outbox table) when missing.
   */
  public abstract List<String> createStatements(
      OutboxTable outbox, OutboxTable leases, OutboxTable members);

  /**
   * The statements of {@link #createStatements} that a start on an existing schema still has to
   * run. All of them by default; a database on which a statement would lock the outbox table even
   * when what it makes is there already leaves out, after asking its catalog, what exists: a lock
   * request that waits for a writer's open transaction queues every later writer behind it.
   *
   * @param connection a connection to ask the catalog through
   */
  public List<String> startUpStatements(
      Connection connection, OutboxTable outbox, OutboxTable leases, OutboxTable members)
      throws SQLException {
    return createStatements(outbox, leases, members);
  }

  /**
   * An {@code ALTER TABLE} that adds a column, doing nothing where the database can say {@code IF
   * NOT EXISTS}; see {@link #addColumnIsIdempotent()}.
   *
   * @param definition the column's type and constraints
   */
  public String addColumnIfNotExists(OutboxTable table, String column, String definition) {
    return "ALTER TABLE %s ADD COLUMN %s%s %s"
        .formatted(
            table.qualifiedName(),
            addColumnIsIdempotent() ? "IF NOT EXISTS " : "",
            column,
            definition);
  }

  /**
   * Whether {@link #addColumnIfNotExists} says {@code IF NOT EXISTS}; where not, two relays
   * starting at once may both add the column, and the loser's "duplicate column" error is ignored.
   */
  public boolean addColumnIsIdempotent() {
    return true;
  }

  /**
   * Whether a list of values is bound as one array parameter ({@code seq = ANY(?)}, {@code seq <>
   * ALL(?)}) instead of one parameter per value: the statement's text then does not change with the
   * list's length, so the database parses and plans it once per connection and reuses the plan.
   */
  public boolean bindsArrays() {
    return false;
  }

  /**
   * Statements that a polling read's own transaction runs before the read: empty where the read
   * runs alone in autocommit mode. The settings they make end with that transaction, so they never
   * reach another user of a shared pool.
   */
  public List<String> readSettings() {
    return List.of();
  }

  /**
   * The {@code CREATE INDEX} of the index the polling relay reads pending rows through, oldest
   * first over every partition it owns in one walk (version 8 of the schema, {@code
   * V0_8__outboxkit_pending_seq_index.sql}): pending rows in {@code seq} order. Without it the read
   * walks the primary key, correct but through every published and parked row too. Idempotent where
   * the database has {@code CREATE INDEX IF NOT EXISTS}; see {@link #indexIsIdempotent()}.
   *
   * @param outbox the outbox table
   */
  public String createPendingSeqIndex(OutboxTable outbox) {
    return "CREATE INDEX IF NOT EXISTS %s_pending_seq_idx ON %s (status, seq)"
        .formatted(outbox.name(), outbox.qualifiedName());
  }

  /**
   * Whether the catalog lists the index of {@link #createPendingSeqIndex}, asked where its {@code
   * CREATE INDEX IF NOT EXISTS} would lock the outbox table before noticing the index exists. False
   * by default: the statement runs, and does nothing or fails with an error the caller ignores.
   *
   * @param connection a connection to ask the catalog through
   * @param outbox the outbox table
   */
  public boolean hasPendingSeqIndex(Connection connection, OutboxTable outbox) throws SQLException {
    return false;
  }

  /**
   * Whether the gauges find the first and the last pending row by one probe at each end of the
   * index of {@link #createPendingSeqIndex} ({@code WHERE status = 'PENDING' ORDER BY seq LIMIT
   * 1}), when {@link #hasPendingSeqIndex} finds it, and count from the first, rather than by a
   * count from the head and a probe per partition. One probe walks the entries of rows deleted at
   * the head once per measurement; the per-partition form walked them twice, or once per partition
   * when a probe was planned on the {@code seq} index. False by default: MySQL 8 plans the one
   * probe over the primary key, through every row kept as {@code PUBLISHED} at the head (review22).
   */
  public boolean probesPendingEndsInSeqOrder() {
    return false;
  }

  /**
   * Whether {@link #createPendingSeqIndex} says {@code IF NOT EXISTS}; where not, a "duplicate key
   * name" error means the index is there already.
   */
  public boolean indexIsIdempotent() {
    return true;
  }

  /**
   * The statements of version 13 of the schema on the outbox table ({@code
   * V0_13__outboxkit_parked_index.sql}): an index of the parked rows, for the statements that look
   * for them (the parked gauges, listings, bulk replay and purge, retention). None by default: an
   * index that leads with {@code status} (version 1 has one on every database without partial
   * indexes) serves them already.
   *
   * @param outbox the outbox table
   */
  public List<String> parkedIndexStatements(OutboxTable outbox) {
    return List.of();
  }

  /**
   * The statements of {@link #parkedIndexStatements} that a start on an existing schema still has
   * to run (asked of the catalog where re-stating them would lock the outbox table).
   *
   * @param connection a connection to ask the catalog through
   * @param outbox the outbox table
   */
  public List<String> parkedIndexStartUpStatements(Connection connection, OutboxTable outbox)
      throws SQLException {
    return parkedIndexStatements(outbox);
  }

  /**
   * The polling read in {@code seq} order with its byte budget: the oldest pending rows that match
   * {@code where} (it starts with {@code WHERE}), at most a bound row limit, cut at the row that
   * reaches a bound byte budget (binds: those of {@code where}, the limit, the budget). Returns
   * {@code columns} and {@code upto}, the running sum of {@code rowBytes} up to each row, in {@code
   * seq} order. Here the running sum is a window over the rows themselves, which already come in
   * {@code seq} order: PostgreSQL and H2 stream the subqueries, nothing is sorted or stored.
   *
   * @param table the outbox table's qualified name
   * @param columns the columns to return, comma-separated, unqualified
   * @param rowBytes the expression of a row's size against the budget
   * @param where the read's condition, from {@code WHERE}
   */
  public String budgetedSeqOrderRead(String table, String columns, String rowBytes, String where) {
    return "SELECT "
        + columns
        + ", upto FROM (SELECT w.*, SUM(row_bytes) OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED"
        + " PRECEDING AND CURRENT ROW) AS upto FROM (SELECT "
        + columns
        + ", "
        + rowBytes
        + " AS row_bytes FROM "
        + table
        + where
        + " ORDER BY seq LIMIT ?) w) b WHERE upto - row_bytes < ? ORDER BY seq";
  }

  /**
   * Whether the seq-order read can start at a floor ({@link #flooredSeqOrderRead}) instead of the
   * head of the pending index: the database reports its statement's snapshot and which transaction
   * ids it sees finished, and version 12 of the schema ({@link #readFloorStatements}) makes a row's
   * transaction id older than its {@code seq}. False by default: the read starts at the head.
   */
  public boolean readsFromFloor() {
    return false;
  }

  /**
   * The statements of version 12 of the schema on the outbox table ({@code
   * V0_12__outboxkit_read_floor.sql}): what {@link #readsFromFloor} needs of the writers. None by
   * default.
   *
   * @param outbox the outbox table
   */
  public List<String> readFloorStatements(OutboxTable outbox) {
    return List.of();
  }

  /**
   * The statements of {@link #readFloorStatements} that a start on an existing schema still has to
   * run (asked of the catalog where re-stating them would lock the outbox table).
   *
   * @param connection a connection to ask the catalog through
   * @param outbox the outbox table
   */
  public List<String> readFloorStartUpStatements(Connection connection, OutboxTable outbox)
      throws SQLException {
    return readFloorStatements(outbox);
  }

  /**
   * Why the read cannot start at a floor on this outbox table now (asked of the catalog at start
   * and again by the housekeeping), or {@code null} when it can.
   *
   * @param connection a connection to ask the catalog through
   * @param outbox the outbox table
   */
  public @Nullable String readFloorUnavailable(Connection connection, OutboxTable outbox)
      throws SQLException {
    return "the database has no read floor";
  }

  /**
   * The seq-order read from a floor, with what the floor's next position needs, in one statement;
   * only where {@link #readsFromFloor}.
   *
   * @throws UnsupportedOperationException where the database has none
   */
  public String flooredSeqOrderRead(String table, String columns, String rowBytes, String where) {
    throw new UnsupportedOperationException("no read floor on this database");
  }

  /**
   * The statements of version 9 of the schema on the outbox table ({@code
   * V0_9__outboxkit_outbox_autovacuum.sql}): settings that make the database clean up after a queue
   * table, whose every row is deleted soon after its insert. None by default (no such per-table
   * settings, or none needed).
   *
   * @param outbox the outbox table
   */
  public List<String> outboxStorageStatements(OutboxTable outbox) {
    return List.of();
  }

  /**
   * A query with one bind, the outbox table's qualified name, that returns a row when the table has
   * settings of its own already (set by an operator or an earlier start), which the automatic
   * creation then leaves as they are; {@code null} where {@link #outboxStorageStatements} is empty.
   */
  public @Nullable String outboxStorageTunedQuery() {
    return null;
  }

  /**
   * A column definition of {@code type}, not null, with a default, in the order the database takes.
   */
  public String notNullWithDefault(String type, String defaultValue) {
    return type + " NOT NULL DEFAULT " + defaultValue;
  }

  /**
   * The start of a {@code DELETE} of outbox rows that the relay names by their {@code seq}s (its
   * acknowledgement), up to where the {@code WHERE} goes. The statement must reach the rows through
   * the primary key and lock those rows only: the application appends to the same table in its own
   * transactions, and a lock on a range of pending rows would make the relay wait for a writer's
   * open transaction and the writer for the relay, a deadlock that rolls the writer back.
   */
  public String deleteBySeq(String table) {
    return "DELETE FROM " + table;
  }

  /**
   * The start of an {@code UPDATE} of rows named by their {@code seq}s, as {@link #deleteBySeq}.
   */
  public String updateBySeq(String table) {
    return "UPDATE " + table;
  }

  /**
   * Whether the purge of published rows kept past their time ({@link #deletePublished}) must choose
   * its rows with a plain read and delete them by primary key ({@link #deleteBySeq}) instead: where
   * a delete by condition locks the range it scans, which includes the gap every new pending row is
   * inserted into.
   */
  public boolean purgesPublishedByPrimaryKey() {
    return false;
  }

  /**
   * A delete of at most {@code ?} (second parameter) rows of {@code outbox}, lowest {@code seq}
   * first, published before {@code ?} (first parameter). Not asked where {@link
   * #purgesPublishedByPrimaryKey()}.
   */
  public String deletePublished(String outbox) {
    return "DELETE FROM "
        + outbox
        + " WHERE seq IN (SELECT seq FROM "
        + outbox
        + " WHERE status = 'PUBLISHED' AND published_at < ? ORDER BY seq LIMIT ?)";
  }

  /**
   * What the database's error names apart from its message, none of it a value of a row: the
   * schema, table, column, data type and constraint of a refused statement, those it gives, in that
   * order. The audit trail, the logs and the exceptions an operator gets keep only the first line
   * of a driver's message (the lines after it can quote a refused row, payload included), so these
   * say where it failed. Empty by default: drivers that report nothing of the kind apart from their
   * message.
   *
   * @param e a failure of this database's driver
   */
  public Map<String, String> failureFields(SQLException e) {
    return Map.of();
  }

  /**
   * The first line of a message of this database's driver as the audit trail, the logs and an
   * operator's exception may show it: as it is by default. Where the database quotes a row's values
   * in that line, they are left out.
   *
   * @param e a failure of this database's driver
   * @param firstLine the first line of its message
   */
  public String failureMessage(SQLException e, String firstLine) {
    return firstLine;
  }

  /**
   * The {@code CREATE TABLE IF NOT EXISTS} of the audit table, with one {@code %s} for its
   * qualified name; the same columns as the shipped script {@code V0_7__outboxkit_audit.sql}.
   */
  public abstract String createAuditTable();
}
