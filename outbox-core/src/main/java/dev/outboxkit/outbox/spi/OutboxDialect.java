package dev.outboxkit.outbox.spi;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.internal.dialect.Dialects;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * The SQL of one database product: table layout, statements and the few types whose JDBC binding
 * differs. All SQL uses bind parameters; table names come only from a validated {@link
 * OutboxTable}.
 *
 * <p>Code asks a dialect what it supports ({@link #supportsSkipLocked()}) rather than switching on
 * database names. The relay and the idempotency module keep their own SQL in one class per
 * database, chosen once by {@link #name()}: they accept a dialect only under a built-in name and
 * otherwise fail when they are built, naming what they lack. Implementations are immutable and
 * thread-safe.
 */
public interface OutboxDialect {

  /** The dialect's name: {@code postgresql}, {@code mysql}, {@code mariadb} or {@code h2}. */
  String name();

  /** Whether {@code SELECT ... FOR UPDATE SKIP LOCKED} is available. */
  boolean supportsSkipLocked();

  /** Whether the database can wake listeners on commit ({@code LISTEN/NOTIFY}). */
  default boolean supportsListenNotify() {
    return false;
  }

  /**
   * The statements that create the outbox table and its indexes when they do not exist. They are
   * what the schema scripts shipped in this jar contain for the default table.
   *
   * @param table the table to create
   */
  List<String> createTableStatements(OutboxTable table);

  /**
   * The statements of {@link #createTableStatements} that a start on an existing table still has to
   * run; {@link dev.outboxkit.outbox.OutboxSchema#create} runs these. All of them by default. A
   * database whose {@code CREATE INDEX IF NOT EXISTS} locks the table before it notices the index
   * exists (PostgreSQL takes a SHARE lock, which waits for every open write and holds up every
   * later one) leaves out, after asking its catalog, the indexes that are there.
   *
   * @param connection a connection to ask the catalog through; no statement changes anything
   * @param table the outbox table
   * @throws SQLException when the catalog cannot be read
   * @since 0.9
   */
  default List<String> createMissingStatements(Connection connection, OutboxTable table)
      throws SQLException {
    return createTableStatements(table);
  }

  /**
   * A multi-row insert of the envelope columns, {@code rows} rows of {@link #INSERT_COLUMNS} bind
   * parameters each, in that order.
   *
   * @param table the outbox table
   * @param rows the number of rows, at least 1 and at most {@link #maxRowsPerInsert()}
   */
  String insertStatement(OutboxTable table, int rows);

  /**
   * A {@code SELECT} expression for the database server's current time, read back with {@link
   * #getInstant}. Relays judge leases by this one clock rather than their own.
   *
   * @since 0.2
   */
  default String currentTimeSql() {
    return "CURRENT_TIMESTAMP";
  }

  /**
   * A {@code SELECT} that tries to take a session-scoped lock named by its one string parameter and
   * answers {@code true}/{@code 1} when taken, or {@code null} when the database has no such locks.
   * The server frees such a lock when the session ends, so a crashed process's lock is free at
   * once: relays use it to take over a crashed instance's partitions in seconds instead of a lease
   * TTL. Not usable through a transaction pooler.
   *
   * @since 0.2
   */
  default @Nullable String trySessionLockSql() {
    return null;
  }

  /**
   * A {@code SELECT} that releases a session lock taken with {@link #trySessionLockSql()}.
   *
   * @since 0.2
   */
  default @Nullable String releaseSessionLockSql() {
    return null;
  }

  /**
   * A {@code SELECT} that answers {@code true}/{@code 1} when the session running it holds the lock
   * named by its one string parameter (taken with {@link #trySessionLockSql()}), or {@code null}
   * when the database has no session locks. A relay asks it on every heartbeat: a lock it took that
   * its connection's session no longer holds means the connection goes through a transaction
   * pooler, which hands each statement whatever server session is free.
   *
   * @since 0.2
   */
  default @Nullable String sessionLockHeldSql() {
    return null;
  }

  /**
   * A {@code SELECT} that answers {@code true}/{@code 1} when no session holds the lock named by
   * its one string parameter, without taking it, or {@code null} when the database has no session
   * locks. One statement, so it means the same through a transaction pooler.
   *
   * @since 0.2
   */
  default @Nullable String sessionLockFreeSql() {
    return null;
  }

  /**
   * A {@code SELECT} that waits for and takes the lock named by its one string parameter under
   * which instances starting at the same time create missing tables one after another, held until
   * the transaction ends; {@code null} where the database has none (creations then take turns only
   * within one JVM). Used by {@link dev.outboxkit.outbox.SchemaCreationLock}: on PostgreSQL two
   * concurrent {@code CREATE TABLE IF NOT EXISTS} of one table can both pass the existence check,
   * and the loser fails on the catalog's unique index instead of doing nothing.
   *
   * @since 0.10
   */
  default @Nullable String schemaCreationLockSql() {
    return null;
  }

  /** The most rows one insert may carry, from the database's limit on bind parameters. */
  default int maxRowsPerInsert() {
    return 65_535 / INSERT_COLUMNS.size();
  }

  /**
   * Binds an event id.
   *
   * @param statement the statement
   * @param index the 1-based parameter index
   * @param id the id
   * @throws SQLException from the driver
   */
  void setUuid(PreparedStatement statement, int index, UUID id) throws SQLException;

  /**
   * Reads an event id.
   *
   * @param rs the result set, on a row
   * @param column the column label
   * @throws SQLException from the driver
   */
  UUID getUuid(ResultSet rs, String column) throws SQLException;

  /**
   * Binds a UTC timestamp.
   *
   * @param statement the statement
   * @param index the 1-based parameter index
   * @param instant the timestamp
   * @throws SQLException from the driver
   */
  void setInstant(PreparedStatement statement, int index, Instant instant) throws SQLException;

  /**
   * Reads a UTC timestamp.
   *
   * @param rs the result set, on a row
   * @param column the column label
   * @return the instant, or {@code null} for SQL {@code NULL}
   * @throws SQLException from the driver
   */
  @Nullable Instant getInstant(ResultSet rs, String column) throws SQLException;

  /**
   * Whether an exception says that a table does not exist.
   *
   * @param e the exception
   */
  boolean isMissingTable(SQLException e);

  /**
   * Whether an exception says that the user lacks a privilege on an object (a missing grant), as
   * opposed to a lock timeout, a lost connection or any other failure. The default recognises the
   * SQL standard's SQLSTATE {@code 42501} (PostgreSQL's {@code insufficient_privilege}).
   *
   * @param e the exception
   * @since 0.9
   */
  default boolean isPermissionDenied(SQLException e) {
    return "42501".equals(e.getSQLState());
  }

  /** The envelope columns that {@link #insertStatement} binds, in bind order. */
  List<String> INSERT_COLUMNS =
      List.of(
          "id",
          "aggregatetype",
          "aggregateid",
          "type",
          "payload",
          "headers",
          "tenant",
          "created_at",
          "partition_no");

  /**
   * Every column an outbox table must have: the envelope, which keeps the names of Debezium's
   * outbox EventRouter ({@code id, aggregatetype, aggregateid, type, payload}), and the relay's
   * bookkeeping.
   */
  List<String> REQUIRED_COLUMNS =
      List.of(
          "seq",
          "id",
          "aggregatetype",
          "aggregateid",
          "type",
          "payload",
          "headers",
          "tenant",
          "created_at",
          "partition_no",
          "status",
          "attempts",
          "next_attempt_at",
          "last_error",
          "published_at");

  /** PostgreSQL 12 or later (Aurora PostgreSQL included). */
  static OutboxDialect postgresql() {
    return Dialects.POSTGRESQL;
  }

  /** MySQL 8.0 or later (Aurora MySQL 3 included). */
  static OutboxDialect mysql() {
    return Dialects.MYSQL;
  }

  /** MariaDB 10.6 or later. */
  static OutboxDialect mariadb() {
    return Dialects.MARIADB;
  }

  /** H2 2.x, for development and tests. */
  static OutboxDialect h2() {
    return Dialects.H2;
  }

  /**
   * The dialect of the given name.
   *
   * @param name {@code postgresql}, {@code mysql}, {@code mariadb} or {@code h2}, any case
   * @throws IllegalArgumentException for any other name
   */
  static OutboxDialect named(String name) {
    return Dialects.named(name);
  }

  /**
   * The dialect of the database behind a connection, from its metadata.
   *
   * @param connection an open connection; only its metadata is read
   * @throws IllegalArgumentException when the database is not supported
   * @throws SQLException when the metadata cannot be read
   */
  static OutboxDialect detect(Connection connection) throws SQLException {
    return Dialects.detect(connection.getMetaData());
  }
}
