package dev.outboxkit.relay.cdc;

import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The CDC relay's table: one row per engine (named like its replication slot) holding the
 * active/standby lease (owner, epoch, expiry) and the engine's source offsets. Offsets are written
 * with a condition on the lease, so an engine that lost its lease can never move them. Shipped as
 * {@code dev/outboxkit/schema/<dialect>/V0_4__outboxkit_cdc.sql} (PostgreSQL, MySQL, MariaDB) and
 * in {@code outboxkit-cdc-changelog.xml} for Liquibase.
 */
public final class CdcSchema {

  /** The columns of the state table. */
  public static final List<String> COLUMNS =
      List.of("name", "owner_id", "epoch", "expires_at", "offsets", "updated_at");

  private CdcSchema() {}

  /**
   * The classpath location of the shipped Flyway script for a dialect.
   *
   * @param dialect the dialect
   */
  public static String scriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_4__outboxkit_cdc.sql";
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
    String t = table.qualifiedName();
    String h = historyTable(table).qualifiedName();
    return switch (dialect.name()) {
      case "postgresql" ->
          List.of(
              """
              CREATE TABLE IF NOT EXISTS %s (
                  name       VARCHAR(64)  NOT NULL PRIMARY KEY,
                  owner_id   VARCHAR(255),
                  epoch      BIGINT       NOT NULL DEFAULT 0,
                  expires_at TIMESTAMPTZ,
                  offsets    TEXT,
                  updated_at TIMESTAMPTZ
              )"""
                  .formatted(t));
      case "mysql", "mariadb" ->
          List.of(
              """
              CREATE TABLE IF NOT EXISTS %s (
                  name       VARCHAR(64)  NOT NULL,
                  seq        BIGINT       NOT NULL,
                  record     MEDIUMTEXT   NOT NULL,
                  PRIMARY KEY (name, seq)
              ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"""
                  .formatted(h),
              """
              CREATE TABLE IF NOT EXISTS %s (
                  name       VARCHAR(64)  NOT NULL,
                  owner_id   VARCHAR(255) NULL,
                  epoch      BIGINT       NOT NULL DEFAULT 0,
                  expires_at DATETIME(6)  NULL,
                  offsets    MEDIUMTEXT   NULL,
                  updated_at DATETIME(6)  NULL,
                  PRIMARY KEY (name)
              ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"""
                  .formatted(t));
      default ->
          throw new IllegalArgumentException(
              "CDC needs PostgreSQL, MySQL or MariaDB; not " + dialect.name());
    };
  }

  /**
   * Creates the state table when it does not exist.
   *
   * @param connection a connection; with auto-commit off, the caller commits
   * @param dialect the dialect
   * @param table the state table
   */
  public static void create(Connection connection, OutboxDialect dialect, OutboxTable table) {
    try (Statement statement = connection.createStatement()) {
      for (String sql : createStatements(dialect, table)) {
        statement.execute(sql);
      }
    } catch (SQLException e) {
      throw new OutboxStoreException("Could not create the CDC table " + table, e);
    }
  }
}
