package dev.outboxkit.relay.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The relay's tables on PostgreSQL, with the statement-level trigger that NOTIFYs relays when
 * events are appended.
 */
final class PostgresRelaySql extends RelaySql {

  static final String NAME = "postgresql";

  private static final boolean PGJDBC = PgServerErrors.driverPresent();

  /** The function's body, between the dollar quotes: what pg_proc.prosrc holds. */
  private static final String NOTIFY_BODY =
      """

      BEGIN
          PERFORM pg_notify(TG_TABLE_NAME, '');
          RETURN NULL;
      END
      """;

  private static final String NOTIFY_FUNCTION =
      "CREATE OR REPLACE FUNCTION outboxkit_notify() RETURNS trigger LANGUAGE plpgsql AS $$"
          + NOTIFY_BODY
          + "$$";

  @Override
  public List<String> createStatements(
      OutboxTable outbox, OutboxTable leases, OutboxTable members) {
    List<String> statements = new ArrayList<>(tablesAndFunction(leases, members));
    statements.addAll(trigger(outbox));
    return List.copyOf(statements);
  }

  /**
   * Leaves out the trigger when the outbox table has it: {@code DROP TRIGGER} takes an ACCESS
   * EXCLUSIVE lock on the table and {@code CREATE TRIGGER} a SHARE ROW EXCLUSIVE one, so re-making
   * it at every start would wait for every open write on the outbox, and stop all new ones
   * meanwhile. Leaves out the function too when the catalog has it with this body: replacing it
   * updates its catalog row, and two starts doing so at once failed with "tuple concurrently
   * updated" (the start-ups now also take turns, {@code SchemaCreationLock}).
   */
  @Override
  public List<String> startUpStatements(
      Connection connection, OutboxTable outbox, OutboxTable leases, OutboxTable members)
      throws SQLException {
    if (!hasNotifyTrigger(connection, outbox)) {
      return createStatements(outbox, leases, members);
    }
    List<String> statements = new ArrayList<>(tables(leases, members));
    if (!hasNotifyFunction(connection)) {
      statements.add(NOTIFY_FUNCTION);
    }
    return List.copyOf(statements);
  }

  private static List<String> tablesAndFunction(OutboxTable leases, OutboxTable members) {
    List<String> statements = new ArrayList<>(tables(leases, members));
    statements.add(NOTIFY_FUNCTION);
    return statements;
  }

  /** Whether the function the trigger calls (found as the trigger finds it) has this body. */
  private static boolean hasNotifyFunction(Connection connection) throws SQLException {
    try (PreparedStatement query =
        connection.prepareStatement(
            "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE oid = to_regprocedure('outboxkit_notify()')"
                + " AND prosrc = ?)")) {
      query.setString(1, NOTIFY_BODY);
      return exists(query);
    }
  }

  private static List<String> tables(OutboxTable leases, OutboxTable members) {
    return List.of(
        """
        CREATE TABLE IF NOT EXISTS %s (
            partition_no INTEGER      NOT NULL PRIMARY KEY,
            owner_id     VARCHAR(255),
            epoch        BIGINT       NOT NULL DEFAULT 0,
            expires_at   TIMESTAMPTZ
        )\
        """
            .formatted(leases.qualifiedName()),
        """
        CREATE TABLE IF NOT EXISTS %s (
            member_id    VARCHAR(255) NOT NULL PRIMARY KEY,
            heartbeat_at TIMESTAMPTZ  NOT NULL,
            expires_at   TIMESTAMPTZ  NOT NULL
        )\
        """
            .formatted(members.qualifiedName()));
  }

  private static List<String> trigger(OutboxTable outbox) {
    return List.of(
        "DROP TRIGGER IF EXISTS %s_notify ON %s".formatted(outbox.name(), outbox.qualifiedName()),
        """
        CREATE TRIGGER %s_notify AFTER INSERT ON %s
            FOR EACH STATEMENT EXECUTE FUNCTION outboxkit_notify()\
        """
            .formatted(outbox.name(), outbox.qualifiedName()));
  }

  private static boolean hasNotifyTrigger(Connection connection, OutboxTable outbox)
      throws SQLException {
    try (PreparedStatement query =
        connection.prepareStatement(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(?)"
                + " AND tgname = ?)")) {
      query.setString(1, outbox.qualifiedName());
      query.setString(2, outbox.name() + "_notify");
      return exists(query);
    }
  }

  @Override
  public boolean hasPendingSeqIndex(Connection connection, OutboxTable outbox) throws SQLException {
    return hasIndex(connection, outbox, outbox.name() + "_pending_seq_idx");
  }

  private static boolean hasIndex(Connection connection, OutboxTable outbox, String index)
      throws SQLException {
    try (PreparedStatement query =
        connection.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      // CREATE INDEX puts the index in its table's schema.
      query.setString(1, outbox.schema() == null ? index : outbox.schema() + "." + index);
      return exists(query);
    }
  }

  private static boolean exists(PreparedStatement query) throws SQLException {
    try (ResultSet rs = query.executeQuery()) {
      return rs.next() && rs.getBoolean(1);
    }
  }

  /** A partial index: only pending rows, the few a drained outbox has, in {@code seq} order. */
  @Override
  public String createPendingSeqIndex(OutboxTable outbox) {
    return "CREATE INDEX IF NOT EXISTS %s_pending_seq_idx ON %s (seq) WHERE status = 'PENDING'"
        .formatted(outbox.name(), outbox.qualifiedName());
  }

  /**
   * Version 13: a partial index of the parked rows. The pending indexes are partial too, so without
   * it every statement that looks for parked rows reads the whole table, however few are parked:
   * the parked gauges' count scanned 10 GB once a minute during a drain of 10 M events. Keyed by
   * {@code seq} for the statements that walk parked rows in that order (listings, bulk pages, the
   * newest parked row, retention's purge) and {@code created_at} for the gauges' oldest (read from
   * the index alone) and retention's cut-off (checked in the index before a row is read). Rows are
   * inserted pending and deleted or marked published: only a park adds an entry, and a retry's
   * update (which sets no indexed column) can stay a HOT update.
   */
  @Override
  public List<String> parkedIndexStatements(OutboxTable outbox) {
    return List.of(
        "CREATE INDEX IF NOT EXISTS %s_parked_idx ON %s (seq, created_at) WHERE status = 'DEAD'"
            .formatted(outbox.name(), outbox.qualifiedName()));
  }

  /**
   * None when the catalog has an index of that name: {@code CREATE INDEX IF NOT EXISTS} takes its
   * table lock before it notices the index exists.
   */
  @Override
  public List<String> parkedIndexStartUpStatements(Connection connection, OutboxTable outbox)
      throws SQLException {
    return hasIndex(connection, outbox, outbox.name() + "_parked_idx")
        ? List.of()
        : parkedIndexStatements(outbox);
  }

  /**
   * Autovacuum as a queue table needs it: PostgreSQL's defaults wait for 20 % of the table's rows
   * to be dead before a vacuum (2 M deletes at a 10 M backlog, all at the head of the indexes every
   * read starts from) and then throttle it. Here a vacuum is due after a fixed number of deleted
   * rows, about a second of draining, and runs unthrottled on this one table; the planner's
   * statistics follow the backlog the same way. Why these values: docs/benchmarks.md, "Autovacuum
   * for the outbox table".
   */
  @Override
  public List<String> outboxStorageStatements(OutboxTable outbox) {
    return List.of(
        """
        ALTER TABLE %s SET (
            autovacuum_vacuum_scale_factor = 0,
            autovacuum_vacuum_threshold = 20000,
            autovacuum_vacuum_cost_delay = 0,
            autovacuum_analyze_scale_factor = 0,
            autovacuum_analyze_threshold = 100000
        )\
        """
            .formatted(outbox.qualifiedName()));
  }

  /** Any autovacuum storage parameter on the table: someone chose them, keep them. */
  @Override
  public String outboxStorageTunedQuery() {
    return "SELECT 1 FROM pg_class WHERE oid = CAST(? AS regclass)"
        + " AND array_to_string(reloptions, ',') LIKE '%autovacuum%'";
  }

  @Override
  public boolean bindsArrays() {
    return true;
  }

  /** The body of {@code outboxkit_assign_xid()}, between the dollar quotes (pg_proc.prosrc). */
  private static final String ASSIGN_XID_BODY =
      """

      BEGIN
          PERFORM pg_current_xact_id();
          RETURN NULL;
      END
      """;

  private static final String ASSIGN_XID_FUNCTION =
      "CREATE OR REPLACE FUNCTION outboxkit_assign_xid() RETURNS trigger LANGUAGE plpgsql AS $$"
          + ASSIGN_XID_BODY
          + "$$";

  /**
   * Version 12: a statement-level {@code BEFORE INSERT} trigger that gives the writing transaction
   * its transaction id before the statement takes any {@code seq} (statement triggers fire before
   * the first row is formed), so a row's {@code seq} is always taken after its transaction's id.
   * Enabled {@code ALWAYS}, so that a writer session with {@code session_replication_role =
   * replica} does not skip it. What the read floor proves from it: {@code ReadFloor}.
   */
  @Override
  public List<String> readFloorStatements(OutboxTable outbox) {
    String trigger = outbox.name() + "_assign_xid";
    return List.of(
        ASSIGN_XID_FUNCTION,
        "DROP TRIGGER IF EXISTS %s ON %s".formatted(trigger, outbox.qualifiedName()),
        """
        CREATE TRIGGER %s BEFORE INSERT ON %s
            FOR EACH STATEMENT EXECUTE FUNCTION outboxkit_assign_xid()\
        """
            .formatted(trigger, outbox.qualifiedName()),
        "ALTER TABLE %s ENABLE ALWAYS TRIGGER %s".formatted(outbox.qualifiedName(), trigger));
  }

  /**
   * {@link #readFloorStatements} less what the catalog has: a trigger of that name (whatever its
   * state: an operator who disabled it chose so) and the function with this body. Creating the
   * trigger locks the outbox table; a start on a schema that has it does not.
   */
  @Override
  public List<String> readFloorStartUpStatements(Connection connection, OutboxTable outbox)
      throws SQLException {
    List<String> all = readFloorStatements(outbox);
    boolean function;
    try (PreparedStatement query =
        connection.prepareStatement(
            "SELECT EXISTS (SELECT 1 FROM pg_proc WHERE oid ="
                + " to_regprocedure('outboxkit_assign_xid()') AND prosrc = ?)")) {
      query.setString(1, ASSIGN_XID_BODY);
      function = exists(query);
    }
    boolean trigger;
    try (PreparedStatement query =
        connection.prepareStatement(
            "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(?)"
                + " AND tgname = ?)")) {
      query.setString(1, outbox.qualifiedName());
      query.setString(2, outbox.name() + "_assign_xid");
      trigger = exists(query);
    }
    List<String> statements = new ArrayList<>();
    if (!function) {
      statements.add(all.get(0));
    }
    if (!trigger) {
      statements.addAll(all.subList(1, all.size()));
    }
    return List.copyOf(statements);
  }

  /**
   * Why the floor cannot be used, from the catalog: the trigger of {@link #readFloorStatements}
   * missing, disabled, firing per row or after the insert, or calling another body; or the {@code
   * seq} sequence handing out values from a per-session cache (then a later {@code seq} can be
   * taken earlier, and the proof fails).
   */
  @Override
  public @Nullable String readFloorUnavailable(Connection connection, OutboxTable outbox)
      throws SQLException {
    String trigger = outbox.name() + "_assign_xid";
    String enabled = null;
    try (PreparedStatement query =
        connection.prepareStatement(
            "SELECT t.tgenabled FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid"
                + " WHERE t.tgrelid = to_regclass(?) AND t.tgname = ? AND (t.tgtype & 7) = 6"
                + " AND p.prosrc = ?")) {
      query.setString(1, outbox.qualifiedName());
      query.setString(2, trigger);
      query.setString(3, ASSIGN_XID_BODY);
      try (ResultSet rs = query.executeQuery()) {
        if (rs.next()) {
          enabled = rs.getString(1);
        }
      }
    }
    if (enabled == null) {
      return "the outbox table "
          + outbox
          + " has no trigger "
          + trigger
          + " as schema version 12 makes it (V0_12__outboxkit_read_floor.sql)";
    }
    if (!"O".equals(enabled) && !"A".equals(enabled)) {
      return "the trigger " + trigger + " on " + outbox + " is disabled";
    }
    try (PreparedStatement query =
        connection.prepareStatement(
            "SELECT s.seqcache FROM pg_sequence s"
                + " WHERE s.seqrelid = to_regclass(pg_get_serial_sequence(?, 'seq'))")) {
      query.setString(1, outbox.qualifiedName());
      try (ResultSet rs = query.executeQuery()) {
        if (!rs.next()) {
          return "the column seq of " + outbox + " has no sequence";
        }
        long cache = rs.getLong(1);
        if (cache != 1) {
          return "the sequence of "
              + outbox
              + ".seq caches "
              + cache
              + " values per session (a later seq may be taken earlier); it needs CACHE 1";
        }
      }
    }
    return null;
  }

  /**
   * The polling reads bind the rows in flight (up to 2,000 seqs) and the held keys as arrays.
   * Planned with the values, PostgreSQL turns {@code seq <> ALL(array)} into a hash lookup; in a
   * plan made once for every value (a generic plan: pgjdbc prepares a statement on the server after
   * its fifth execution on a connection, and PostgreSQL may then keep one plan) it walks the whole
   * array for every row the read passes. The floored read took the generic plan after a few
   * executions: 66–73 ms per read of 2,000 rows of 1 KiB against 11–13 ms planned with the values,
   * and a 50,000-event drain at half the rate of the read without a floor (docs/benchmarks.md).
   * {@code SET LOCAL} keeps the statement prepared on the server (results in binary) and makes
   * PostgreSQL plan it with the values at every execution (about 0.3 ms), for this transaction
   * only.
   */
  @Override
  public List<String> readSettings() {
    return List.of("SET LOCAL plan_cache_mode = force_custom_plan");
  }

  @Override
  public boolean probesPendingEndsInSeqOrder() {
    return true; // its partial index of pending seqs, walked from its first entry
  }

  @Override
  public boolean readsFromFloor() {
    return true;
  }

  /**
   * The read of {@link #budgetedSeqOrderRead} (its condition ends with {@code seq >= ?}, the floor)
   * joined to one row that the same statement, in the same snapshot, computes: whether the
   * candidate's transactions are finished in this snapshot (every id below its bound), and only
   * then (the only read that uses it) the lowest pending {@code seq} at or above the floor in the
   * read's partitions (every pending row: held keys' and those in flight too). Binds: the bound
   * twice, the partitions (integer array), the floor, the bound twice, the table, then those of the
   * read. The read's rows come in {@code seq} order after the single row (a nested loop over it);
   * none, and the row's values once with a null {@code seq}, when the read finds nothing.
   */
  @Override
  public String flooredSeqOrderRead(String table, String columns, String rowBytes, String where) {
    // bound: a transaction id assigned now, after the statement's snapshot was taken, so above the
    // id of every transaction that had one before it (a snapshot's xmax is not: it is the latest
    // completed id + 1, and running transactions above it are listed nowhere). Assigned only when
    // the read will take a new candidate (none, or the last one finished) and found rows (review13:
    // an idle relay took an id and wrote a commit record at every poll), and computed on the first
    // row only (its running byte sum is its own size), not once per row read.
    // Only a transaction that has no id yet takes one: the read runs in a transaction of its own
    // (readSettings), and a read made again in it (another server seen: OutboxRows.fetchFromFloor)
    // would get the id the first statement took, before its own snapshot (review14 finding 1).
    // f is computed once: OFFSET 0 keeps PostgreSQL from pulling it up into the outer query, where
    // its expressions (a catalog lookup of the sequence, the snapshot) were computed for every row
    // read: 6,298 buffer hits and 14.6 ms for a read of 2,000 rows whose scan took 3.7 ms.
    // The read's own commit need not wait for the WAL flush the id would otherwise cost where the
    // read pruned pages: its commit is made asynchronous for this transaction only. A crash drops
    // the floor: a restart changes pg_postmaster_start_time(), and a crash of one process without a
    // restart (the postmaster reinitializes and replays the WAL; review13 finding 2) discards the
    // cumulative statistics, which resets pg_stat_archiver.stats_reset; both are in "server".
    // The values of f go out on the first row only (the one whose running byte sum is its own
    // size, or the single row of an empty read), not copied onto every row read.
    String first = "(b.seq IS NULL OR b.upto = " + rowBytes + ")";
    return "SELECT CASE WHEN "
        + first
        + " THEN f.low END AS low, CASE WHEN "
        + first
        + " THEN f.done END AS done, CASE WHEN "
        + first
        + " THEN f.server END AS server, CASE WHEN "
        + first
        + " THEN f.seqgen END AS seqgen, CASE WHEN f.done AND b.upto = "
        + rowBytes
        + " AND pg_current_xact_id_if_assigned() IS NULL THEN CAST(pg_current_xact_id() AS text) || substr(set_config('synchronous_commit',"
        + " 'off', true), 1, 0) END AS bound, b.* FROM (SELECT"
        + " CAST(pg_postmaster_start_time() AS text) || ' ' || COALESCE(CAST((SELECT stats_reset"
        + " FROM pg_stat_archiver) AS text), '') AS server, CASE WHEN CAST(? AS text) IS NOT"
        + " NULL AND pg_snapshot_xmin(pg_current_snapshot()) >= CAST(CAST(? AS text) AS xid8)"
        + " THEN (SELECT min(seq) FROM "
        + table
        + " WHERE status = 'PENDING' AND partition_no = ANY(?) AND seq >= ?) END AS low, (CAST(? AS"
        + " text) IS NULL OR pg_snapshot_xmin(pg_current_snapshot()) >= CAST(CAST(? AS text) AS"
        + " xid8)) AS done, CAST(pg_relation_filenode(CAST(pg_get_serial_sequence(?, 'seq') AS"
        + " regclass)) AS text) AS seqgen OFFSET 0) f LEFT JOIN LATERAL ("
        + budgetedSeqOrderRead(table, columns, rowBytes, where)
        + ") b ON TRUE";
  }

  /**
   * pgjdbc's fields of the server's error, when pgjdbc is the driver ({@link PgServerErrors}). The
   * check that it is on the class path runs once: the relay runs on PostgreSQL with other drivers
   * too, where this answers nothing.
   */
  @Override
  public Map<String, String> failureFields(SQLException e) {
    return PGJDBC ? PgServerErrors.fields(e) : Map.of();
  }

  @Override
  public String createAuditTable() {
    return """
    CREATE TABLE IF NOT EXISTS %s (
        id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        occurred_at    TIMESTAMPTZ   NOT NULL,
        principal      VARCHAR(255)  NOT NULL,
        source_address VARCHAR(255),
        operation      VARCHAR(32)   NOT NULL,
        target         VARCHAR(4000) NOT NULL,
        item_count     INTEGER       NOT NULL,
        outcome        VARCHAR(16)   NOT NULL,
        reason         VARCHAR(1000)
    )\
    """;
  }
}
