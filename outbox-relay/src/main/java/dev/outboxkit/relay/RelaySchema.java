package dev.outboxkit.relay;

import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.SchemaCreationLock;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.internal.TableColumns;
import dev.outboxkit.relay.internal.dialect.RelaySql;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Creates and checks the relay's tables: partition leases and live instances, plus on PostgreSQL
 * the statement-level trigger that NOTIFYs relays when events are appended. Production schemas come
 * from the shipped scripts ({@code dev/outboxkit/schema/<dialect>/V0_3__outboxkit_relay.sql}, then
 * {@code V0_5__outboxkit_relay_session_lock.sql}, {@code V0_8__outboxkit_pending_seq_index.sql}, on
 * PostgreSQL {@code V0_9__outboxkit_outbox_autovacuum.sql}, {@code
 * V0_10__outboxkit_relay_member_state.sql}, and on PostgreSQL {@code
 * V0_12__outboxkit_read_floor.sql} and {@code V0_13__outboxkit_parked_index.sql}, for Flyway;
 * {@code dev/outboxkit/schema/liquibase/outboxkit-relay-changelog.xml} for Liquibase).
 */
public final class RelaySchema {
  /**
   * The member-row column in which an instance says whether it holds its session lock: only then
   * may others take its partitions at once after a missed heartbeat (version 5 of the tables).
   */
  static final String SESSION_LOCK_COLUMN = "session_lock";

  /**
   * The member-row column in which an instance reports its lifecycle state at each heartbeat
   * ({@code RUNNING}, {@code PAUSED}, {@code STALLED}, ...; version 10 of the tables), for
   * operators who read the tables (the CLI's {@code status}); {@code NULL} for relays older than
   * the column.
   */
  static final String RELAY_STATE_COLUMN = "relay_state";

  /**
   * The member-row column in which an instance reports its broker circuit breaker's state at each
   * heartbeat ({@code CLOSED}, {@code OPEN}, {@code HALF_OPEN}; version 10 of the tables).
   */
  static final String CIRCUIT_STATE_COLUMN = "circuit_state";

  /** The columns of the lease table. */
  public static final List<String> LEASE_COLUMNS =
      List.of("partition_no", "owner_id", "epoch", "expires_at");

  /** The columns of the member table. */
  public static final List<String> MEMBER_COLUMNS =
      List.of(
          "member_id",
          "heartbeat_at",
          "expires_at",
          SESSION_LOCK_COLUMN,
          RELAY_STATE_COLUMN,
          CIRCUIT_STATE_COLUMN);

  private RelaySchema() {}

  /**
   * The classpath location of the shipped Flyway script for a dialect (default tables).
   *
   * @param dialect the dialect
   */
  public static String scriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_3__outboxkit_relay.sql";
  }

  /**
   * The classpath location of the shipped Flyway script that brings the tables of {@link
   * #scriptLocation} to the current version (the member row's {@code session_lock} column).
   *
   * @param dialect the dialect
   */
  public static String upgradeScriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_5__outboxkit_relay_session_lock.sql";
  }

  /**
   * The statements that bring tables made by {@link #createStatements} to the current version: a
   * column that says whether a member holds its session lock, false for rows of older relays.
   * Idempotent where the database allows ({@code IF NOT EXISTS}; MySQL has none, and {@link
   * #create} copes with a concurrent start there).
   *
   * @param dialect the database's dialect
   * @param members the member table
   */
  public static List<String> upgradeStatements(OutboxDialect dialect, OutboxTable members) {
    RelaySql sql = RelaySql.of(dialect);
    return List.of(
        sql.addColumnIfNotExists(
            members, SESSION_LOCK_COLUMN, sql.notNullWithDefault("BOOLEAN", "FALSE")));
  }

  /**
   * The classpath location of the shipped Flyway script of version 10: the member row's {@code
   * relay_state} and {@code circuit_state} columns, in which each instance reports its state and
   * its circuit breaker's at each heartbeat.
   *
   * @param dialect the dialect
   * @since 0.10
   */
  public static String memberStateScriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_10__outboxkit_relay_member_state.sql";
  }

  /**
   * The statements of version 10 on the member table: two nullable columns (rows of older relays
   * keep {@code NULL}, read as "not reported"). Idempotent where the database allows ({@code IF NOT
   * EXISTS}; MySQL has none, and {@link #create} copes with a concurrent start there).
   *
   * @param dialect the database's dialect
   * @param members the member table
   * @since 0.10
   */
  public static List<String> memberStateStatements(OutboxDialect dialect, OutboxTable members) {
    RelaySql sql = RelaySql.of(dialect);
    return List.of(
        sql.addColumnIfNotExists(members, RELAY_STATE_COLUMN, "VARCHAR(16)"),
        sql.addColumnIfNotExists(members, CIRCUIT_STATE_COLUMN, "VARCHAR(16)"));
  }

  /**
   * The classpath location of the shipped Flyway script that adds the index the polling relay reads
   * pending rows through, oldest first over all its partitions in one walk (version 8).
   *
   * @param dialect the dialect
   * @since 0.8
   */
  public static String pendingSeqIndexScriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_8__outboxkit_pending_seq_index.sql";
  }

  /**
   * The statements of version 8 on the outbox table: an index of pending rows in {@code seq} order.
   * Idempotent where the database has {@code CREATE INDEX IF NOT EXISTS} (MySQL has not; {@link
   * #create} ignores its "duplicate key name" error there).
   *
   * @param dialect the database's dialect
   * @param outbox the outbox table
   * @since 0.8
   */
  public static List<String> pendingSeqIndexStatements(OutboxDialect dialect, OutboxTable outbox) {
    return List.of(RelaySql.of(dialect).createPendingSeqIndex(outbox));
  }

  /**
   * The classpath location of the shipped Flyway script of version 9, the outbox table's autovacuum
   * settings; shipped for PostgreSQL only (the other databases have no such per-table settings, so
   * their schema goes from version 8 to 10 when there is one).
   *
   * @param dialect the dialect
   * @since 0.9
   */
  public static String outboxStorageScriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_9__outboxkit_outbox_autovacuum.sql";
  }

  /**
   * The statements of version 9 on the outbox table: autovacuum settings for a queue table
   * (PostgreSQL storage parameters); empty for the other databases.
   *
   * @param dialect the database's dialect
   * @param outbox the outbox table
   * @since 0.9
   */
  public static List<String> outboxStorageStatements(OutboxDialect dialect, OutboxTable outbox) {
    return RelaySql.of(dialect).outboxStorageStatements(outbox);
  }

  /**
   * The classpath location of the shipped Flyway script of version 12, the trigger that lets the
   * polling relay's reads start at a read floor; shipped for PostgreSQL only (the other databases
   * read from the head of the index, as before).
   *
   * @param dialect the dialect
   * @since 0.12
   */
  public static String readFloorScriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_12__outboxkit_read_floor.sql";
  }

  /**
   * The statements of version 12 on the outbox table: on PostgreSQL a function and a
   * statement-level {@code BEFORE INSERT} trigger that give a writing transaction its id before its
   * rows take their {@code seq}, enabled {@code ALWAYS}; empty for the other databases. Without it
   * the relay reads as before (from the head of the pending index) and says so at start.
   *
   * @param dialect the database's dialect
   * @param outbox the outbox table
   * @since 0.12
   */
  public static List<String> readFloorStatements(OutboxDialect dialect, OutboxTable outbox) {
    return RelaySql.of(dialect).readFloorStatements(outbox);
  }

  /**
   * The classpath location of the shipped Flyway script of version 13, the index of the parked
   * rows; shipped for PostgreSQL only (the other databases have an index that leads with {@code
   * status} since version 1, which serves the statements that look for parked rows).
   *
   * @param dialect the dialect
   * @since 0.13
   */
  public static String parkedIndexScriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_13__outboxkit_parked_index.sql";
  }

  /**
   * The statements of version 13 on the outbox table: on PostgreSQL a partial index of the parked
   * rows ({@code status = 'DEAD'}) by {@code seq} and {@code created_at}, so that the parked
   * gauges, listings, bulk operations and retention read the parked rows only, not a table of
   * millions of pending ones; empty for the other databases. Idempotent ({@code CREATE INDEX IF NOT
   * EXISTS}).
   *
   * @param dialect the database's dialect
   * @param outbox the outbox table
   * @since 0.13
   */
  public static List<String> parkedIndexStatements(OutboxDialect dialect, OutboxTable outbox) {
    return RelaySql.of(dialect).parkedIndexStatements(outbox);
  }

  /**
   * The statements that create the relay's tables (and on PostgreSQL the NOTIFY trigger on the
   * outbox table) when missing.
   *
   * @param dialect the database's dialect
   * @param outbox the outbox table the relay serves
   * @param leases the lease table
   * @param members the member table
   */
  public static List<String> createStatements(
      OutboxDialect dialect, OutboxTable outbox, OutboxTable leases, OutboxTable members) {
    return RelaySql.of(dialect).createStatements(outbox, leases, members);
  }

  /**
   * Creates the relay's tables (and the {@link AuditSchema audit table}) when they do not exist,
   * and adds the columns of later versions to tables made before them, the pending index of version
   * 8 to the outbox table, where the table has no autovacuum settings of its own yet those of
   * version 9, the read floor's trigger of version 12 and the parked index of version 13
   * (PostgreSQL). Safe to run at every start: what exists already is asked of the catalog where
   * re-stating it would lock the outbox table, so a start does not wait for (and meanwhile stop)
   * the writers' open transactions; instances starting together create one after another ({@link
   * SchemaCreationLock}).
   *
   * @param connection a connection; with auto-commit off, the caller commits
   * @param dialect the database's dialect
   * @param outbox the outbox table
   * @param leases the lease table
   * @param members the member table
   * @throws OutboxStoreException when the database refuses a statement
   */
  public static void create(
      Connection connection,
      OutboxDialect dialect,
      OutboxTable outbox,
      OutboxTable leases,
      OutboxTable members) {
    RelaySql relaySql = RelaySql.of(dialect);
    try {
      SchemaCreationLock.run(
          connection,
          dialect,
          () -> {
            try (Statement statement = connection.createStatement()) {
              for (String sql : relaySql.startUpStatements(connection, outbox, leases, members)) {
                statement.execute(sql);
              }
              TableColumns.addIfMissing(
                  connection, members, SESSION_LOCK_COLUMN, upgradeStatements(dialect, members));
              // Each statement on its own: where the first one ran and the second failed, a later
              // start adds only what is missing (MySQL has no IF NOT EXISTS).
              List<String> memberState = memberStateStatements(dialect, members);
              TableColumns.addIfMissing(
                  connection, members, RELAY_STATE_COLUMN, List.of(memberState.get(0)));
              TableColumns.addIfMissing(
                  connection, members, CIRCUIT_STATE_COLUMN, List.of(memberState.get(1)));
              if (!relaySql.hasPendingSeqIndex(connection, outbox)) {
                createPendingSeqIndex(statement, dialect, outbox);
              }
              tuneOutboxStorage(connection, statement, dialect, outbox);
              for (String sql : relaySql.readFloorStartUpStatements(connection, outbox)) {
                statement.execute(sql);
              }
              for (String sql : relaySql.parkedIndexStartUpStatements(connection, outbox)) {
                statement.execute(sql);
              }
            }
          });
      AuditSchema.create(connection, dialect, AuditSchema.table(outbox));
    } catch (SQLException e) {
      throw new OutboxStoreException("Could not create relay tables " + leases + ", " + members, e);
    }
  }

  private static void createPendingSeqIndex(
      Statement statement, OutboxDialect dialect, OutboxTable outbox) throws SQLException {
    for (String sql : pendingSeqIndexStatements(dialect, outbox)) {
      try {
        statement.execute(sql);
      } catch (SQLException e) {
        // MySQL's ER_DUP_KEYNAME: the index is there (an earlier start or another instance).
        if (RelaySql.of(dialect).indexIsIdempotent() || e.getErrorCode() != 1061) {
          throw e;
        }
      }
    }
  }

  /**
   * Version 9, only on a table without autovacuum settings: an operator's own settings stay, and a
   * table set up before needs no {@code ALTER TABLE} (and its lock) at every start.
   */
  private static void tuneOutboxStorage(
      Connection connection, Statement statement, OutboxDialect dialect, OutboxTable outbox)
      throws SQLException {
    String tuned = RelaySql.of(dialect).outboxStorageTunedQuery();
    if (tuned == null) {
      return;
    }
    try (java.sql.PreparedStatement query = connection.prepareStatement(tuned)) {
      query.setString(1, outbox.qualifiedName());
      try (java.sql.ResultSet rs = query.executeQuery()) {
        if (rs.next()) {
          return;
        }
      }
    }
    for (String sql : outboxStorageStatements(dialect, outbox)) {
      statement.execute(sql);
    }
  }

  /**
   * Checks that the relay's tables exist with every column.
   *
   * @param connection a connection in auto-commit mode
   * @param dialect the database's dialect
   * @param leases the lease table
   * @param members the member table
   * @throws dev.outboxkit.outbox.OutboxSchemaException naming what is missing and how to create it
   */
  public static void verify(
      Connection connection, OutboxDialect dialect, OutboxTable leases, OutboxTable members) {
    String how =
        "Apply the scripts "
            + scriptLocation(dialect)
            + " and "
            + upgradeScriptLocation(dialect)
            + " (and "
            + memberStateScriptLocation(dialect)
            + ")"
            + " from outbox-relay with your migration tool (see docs/relay.md), or for development"
            + " let OutboxKit create it (Spring Boot: outbox.relay.auto-create=true; plain Java:"
            + " RelaySchema.create).";
    OutboxSchema.verifyColumns(connection, dialect, leases, LEASE_COLUMNS, how, "Relay lease");
    OutboxSchema.verifyColumns(connection, dialect, members, MEMBER_COLUMNS, how, "Relay member");
  }
}
