package dev.outboxkit.idempotency;

import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Creates and checks the idempotency key and inbox tables. Production schemas come from the shipped
 * scripts ({@code dev/outboxkit/schema/<dialect>/V0_2__outboxkit_idempotency.sql} for Flyway,
 * {@code dev/outboxkit/schema/liquibase/outboxkit-idempotency-changelog.xml} for Liquibase); see
 * docs/idempotency.md.
 */
public final class IdempotencySchema {

  /** The columns of the key table. */
  public static final List<String> KEY_COLUMNS =
      List.of("scope", "idem_key", "fingerprint", "result", "created_at", "expires_at");

  /** The columns of the inbox table. */
  public static final List<String> INBOX_COLUMNS =
      List.of("consumer", "message_id", "created_at", "expires_at");

  private IdempotencySchema() {}

  /**
   * The classpath location of the shipped Flyway script for a dialect (default tables).
   *
   * @param dialect the dialect
   */
  public static String scriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_2__outboxkit_idempotency.sql";
  }

  /**
   * The statements that create both tables and their indexes when missing.
   *
   * @param dialect the database's dialect
   * @param keys the key table
   * @param inbox the inbox table
   */
  public static List<String> createStatements(
      OutboxDialect dialect, OutboxTable keys, OutboxTable inbox) {
    String k = keys.qualifiedName();
    String i = inbox.qualifiedName();
    String kn = keys.name();
    String in = inbox.name();
    return switch (dialect.name()) {
      case "postgresql" ->
          List.of(
              """
              CREATE TABLE IF NOT EXISTS %s (
                  scope       VARCHAR(255) NOT NULL,
                  idem_key    VARCHAR(255) NOT NULL,
                  fingerprint VARCHAR(255) NOT NULL,
                  result      BYTEA,
                  created_at  TIMESTAMPTZ  NOT NULL,
                  expires_at  TIMESTAMPTZ  NOT NULL,
                  CONSTRAINT %s_pk PRIMARY KEY (scope, idem_key)
              )"""
                  .formatted(k, kn),
              "CREATE INDEX IF NOT EXISTS %s_expires_idx ON %s (expires_at)".formatted(kn, k),
              """
              CREATE TABLE IF NOT EXISTS %s (
                  consumer    VARCHAR(255) NOT NULL,
                  message_id  VARCHAR(255) NOT NULL,
                  created_at  TIMESTAMPTZ  NOT NULL,
                  expires_at  TIMESTAMPTZ  NOT NULL,
                  CONSTRAINT %s_pk PRIMARY KEY (consumer, message_id)
              )"""
                  .formatted(i, in),
              "CREATE INDEX IF NOT EXISTS %s_expires_idx ON %s (expires_at)".formatted(in, i));
      case "mysql", "mariadb" ->
          List.of(
              """
              CREATE TABLE IF NOT EXISTS %s (
                  scope       VARCHAR(255) NOT NULL,
                  idem_key    VARCHAR(255) NOT NULL,
                  fingerprint VARCHAR(255) NOT NULL,
                  result      LONGBLOB,
                  created_at  DATETIME(6)  NOT NULL,
                  expires_at  DATETIME(6)  NOT NULL,
                  PRIMARY KEY (scope, idem_key),
                  KEY %s_expires_idx (expires_at)
              ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"""
                  .formatted(k, kn),
              """
              CREATE TABLE IF NOT EXISTS %s (
                  consumer    VARCHAR(255) NOT NULL,
                  message_id  VARCHAR(255) NOT NULL,
                  created_at  DATETIME(6)  NOT NULL,
                  expires_at  DATETIME(6)  NOT NULL,
                  PRIMARY KEY (consumer, message_id),
                  KEY %s_expires_idx (expires_at)
              ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"""
                  .formatted(i, in));
      case "h2" ->
          List.of(
              """
              CREATE TABLE IF NOT EXISTS %s (
                  scope       VARCHAR(255) NOT NULL,
                  idem_key    VARCHAR(255) NOT NULL,
                  fingerprint VARCHAR(255) NOT NULL,
                  result      BINARY VARYING,
                  created_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
                  expires_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
                  CONSTRAINT %s_pk PRIMARY KEY (scope, idem_key)
              )"""
                  .formatted(k, kn),
              "CREATE INDEX IF NOT EXISTS %s_expires_idx ON %s (expires_at)"
                  .formatted(keys.schema() == null ? kn : keys.schema() + "." + kn, k),
              """
              CREATE TABLE IF NOT EXISTS %s (
                  consumer    VARCHAR(255) NOT NULL,
                  message_id  VARCHAR(255) NOT NULL,
                  created_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
                  expires_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
                  CONSTRAINT %s_pk PRIMARY KEY (consumer, message_id)
              )"""
                  .formatted(i, in),
              "CREATE INDEX IF NOT EXISTS %s_expires_idx ON %s (expires_at)"
                  .formatted(inbox.schema() == null ? in : inbox.schema() + "." + in, i));
      default ->
          throw new IllegalArgumentException("No idempotency schema for dialect " + dialect.name());
    };
  }

  /**
   * Creates both tables when missing. Safe to run at every start; for development and tests.
   *
   * @param connection a connection; with auto-commit off, the caller commits
   * @param dialect the dialect
   * @param keys the key table
   * @param inbox the inbox table
   */
  public static void create(
      Connection connection, OutboxDialect dialect, OutboxTable keys, OutboxTable inbox) {
    try (Statement statement = connection.createStatement()) {
      for (String sql : createStatements(dialect, keys, inbox)) {
        statement.execute(sql);
      }
    } catch (SQLException e) {
      throw new OutboxStoreException("Could not create tables " + keys + " and " + inbox, e);
    }
  }

  /**
   * Checks that a table exists with every column.
   *
   * @param connection a connection in auto-commit mode
   * @param dialect the dialect
   * @param table the key table or the inbox table
   * @param columns {@link #KEY_COLUMNS} or {@link #INBOX_COLUMNS}
   * @throws dev.outboxkit.outbox.OutboxSchemaException naming what is missing
   */
  public static void verify(
      Connection connection, OutboxDialect dialect, OutboxTable table, List<String> columns) {
    OutboxSchema.verifyColumns(
        connection,
        dialect,
        table,
        columns,
        "Apply the script "
            + scriptLocation(dialect)
            + " from outbox-idempotency with your migration tool (see docs/idempotency.md), or for"
            + " development set outbox.idempotency.auto-create=true. Not using idempotency keys or"
            + " the inbox? Set outbox.idempotency.enabled=false.",
        columns == INBOX_COLUMNS ? "Inbox" : "Idempotency key");
  }
}
