package dev.outboxkit.relay.cdc;

import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.SchemaCreationLock;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.AuditSchema;
import dev.outboxkit.relay.internal.TableColumns;
import dev.outboxkit.relay.internal.cdc.ChangeLogSource;
import dev.outboxkit.relay.internal.dialect.RelaySql;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The CDC relay's table: one row per engine (named like its replication slot) holding the
 * active/standby lease (owner, epoch, expiry) and the engine's source offsets. Offsets are written
 * with a condition on the lease, so an engine that lost its lease can never move them. Shipped as
 * {@code dev/outboxkit/schema/<dialect>/V0_4__outboxkit_cdc.sql}, then {@code
 * V0_6__outboxkit_cdc_session_lock.sql} and {@code V0_11__outboxkit_cdc_relay_state.sql}
 * (PostgreSQL, MySQL, MariaDB), and in {@code outboxkit-cdc-changelog.xml} for Liquibase.
 */
public final class CdcSchema {
  /**
   * The column in which the lease holder names itself when it holds its session lock: only a holder
   * named there may be taken over at once after a missed renewal (version 6 of the tables). A name,
   * not a flag, so that a holder which never writes it (a relay older than the column) is not
   * judged by what the previous holder wrote.
   */
  static final String SESSION_LOCK_COLUMN = "session_lock_owner";

  /**
   * The column in which the lease holder stamps each renewal (and its release) by the database's
   * clock, so that an operator can tell a fresh report from an old one (version 11 of the tables).
   */
  static final String HEARTBEAT_COLUMN = "heartbeat_at";

  /**
   * The column in which the lease holder reports its state at each renewal ({@code RUNNING}, {@code
   * PAUSED}, {@code STALLED}), and on release why it gave the lease up ({@code STOPPED}, {@code
   * STANDBY}, {@code FAILED}); version 11 of the tables, for the operator CLI's {@code status}.
   * {@code NULL} for relays older than the column.
   */
  static final String RELAY_STATE_COLUMN = "relay_state";

  /**
   * The column in which the lease holder reports its broker circuit breaker's state at each renewal
   * ({@code CLOSED}, {@code OPEN}, {@code HALF_OPEN}; version 11 of the tables).
   */
  static final String CIRCUIT_STATE_COLUMN = "circuit_state";

  /** The columns of the state table. */
  public static final List<String> COLUMNS =
      List.of(
          "name",
          "owner_id",
          "epoch",
          "expires_at",
          "offsets",
          "updated_at",
          SESSION_LOCK_COLUMN,
          HEARTBEAT_COLUMN,
          RELAY_STATE_COLUMN,
          CIRCUIT_STATE_COLUMN);

  private CdcSchema() {}

  /**
   * The classpath location of the shipped Flyway script for a dialect.
   *
   * @param dialect the dialect
   */
  public static String scriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_4__outboxkit_cdc.sql";
  }

  /**
   * The classpath location of the shipped Flyway script that brings the state table of {@link
   * #scriptLocation} to the current version (the {@code session_lock} column).
   *
   * @param dialect the dialect
   */
  public static String upgradeScriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_6__outboxkit_cdc_session_lock.sql";
  }

  /**
   * The statements that bring a state table made by {@link #createStatements} to the current
   * version: a column in which the holder names itself while it holds its session lock (null for
   * rows of older relays). Idempotent where the database allows ({@code IF NOT EXISTS}; MySQL has
   * none, and {@link #create} copes with a concurrent start there).
   *
   * @param dialect PostgreSQL, MySQL or MariaDB
   * @param table the state table
   */
  public static List<String> upgradeStatements(OutboxDialect dialect, OutboxTable table) {
    return List.of(
        RelaySql.of(dialect).addColumnIfNotExists(table, SESSION_LOCK_COLUMN, "VARCHAR(255) NULL"));
  }

  /**
   * The classpath location of the shipped Flyway script of version 11: the state row's {@code
   * heartbeat_at}, {@code relay_state} and {@code circuit_state} columns, in which the lease holder
   * reports its state and its circuit breaker's at each renewal.
   *
   * @param dialect PostgreSQL, MySQL or MariaDB
   * @since 0.11
   */
  public static String relayStateScriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_11__outboxkit_cdc_relay_state.sql";
  }

  /**
   * The statements of version 11 on the state table: three nullable columns (a row of an older
   * relay keeps {@code NULL}, read as "not reported"). Idempotent where the database allows ({@code
   * IF NOT EXISTS}; MySQL has none, and {@link #create} copes with a concurrent start there).
   *
   * @param dialect PostgreSQL, MySQL or MariaDB
   * @param table the state table
   * @since 0.11
   */
  public static List<String> relayStateStatements(OutboxDialect dialect, OutboxTable table) {
    RelaySql sql = RelaySql.of(dialect);
    return List.of(
        sql.addColumnIfNotExists(
            table, HEARTBEAT_COLUMN, ChangeLogSource.stateTimestampTypeFor(dialect)),
        sql.addColumnIfNotExists(table, RELAY_STATE_COLUMN, "VARCHAR(16)"),
        sql.addColumnIfNotExists(table, CIRCUIT_STATE_COLUMN, "VARCHAR(16)"));
  }

  /** The schema history table (MySQL/MariaDB) that goes with a state table. */
  public static OutboxTable historyTable(OutboxTable stateTable) {
    return new OutboxTable(stateTable.schema(), stateTable.name() + "_history");
  }

  /**
   * The statements that create the state table, and on MySQL/MariaDB the schema history table next
   * to it, when missing.
   *
   * @param dialect PostgreSQL, MySQL or MariaDB
   * @param table the state table
   */
  public static List<String> createStatements(OutboxDialect dialect, OutboxTable table) {
    return ChangeLogSource.stateTableStatementsFor(dialect, table, historyTable(table));
  }

  /**
   * Creates the state table when it does not exist, and adds the columns of later versions to one
   * made before them.
   *
   * @param connection a connection; with auto-commit off, the caller commits
   * @param dialect the dialect
   * @param table the state table
   */
  public static void create(Connection connection, OutboxDialect dialect, OutboxTable table) {
    try {
      SchemaCreationLock.run(
          connection,
          dialect,
          () -> {
            try (Statement statement = connection.createStatement()) {
              for (String sql : createStatements(dialect, table)) {
                statement.execute(sql);
              }
            }
            TableColumns.addIfMissing(
                connection, table, SESSION_LOCK_COLUMN, upgradeStatements(dialect, table));
            // Each statement on its own: where one ran and a later one failed, a later start adds
            // only what is missing (MySQL has no IF NOT EXISTS).
            List<String> relayState = relayStateStatements(dialect, table);
            List<String> columns =
                List.of(HEARTBEAT_COLUMN, RELAY_STATE_COLUMN, CIRCUIT_STATE_COLUMN);
            for (int i = 0; i < columns.size(); i++) {
              TableColumns.addIfMissing(
                  connection, table, columns.get(i), List.of(relayState.get(i)));
            }
          });
      // The audit trail of parked-event operations, in the state table's schema.
      AuditSchema.create(connection, dialect, AuditSchema.table(table));
    } catch (SQLException e) {
      throw new OutboxStoreException("Could not create the CDC table " + table, e);
    }
  }
}
