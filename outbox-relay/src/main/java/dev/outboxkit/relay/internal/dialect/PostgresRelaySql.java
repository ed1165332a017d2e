package dev.outboxkit.relay.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The relay's tables on PostgreSQL, with the statement-level trigger that NOTIFYs relays when
 * events are appended.
 */
final class PostgresRelaySql extends RelaySql {

  static final String NAME = "postgresql";

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
    String index = outbox.name() + "_pending_seq_idx";
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
