package dev.outboxkit.relay;

import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.SchemaCreationLock;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.internal.dialect.RelaySql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * Creates and checks the audit table ({@value RelayDefaults#AUDIT_TABLE}, in the outbox table's
 * schema) that both relay modes write to when parked events are listed, replayed or purged.
 * Production schemas come from the shipped script {@code
 * dev/outboxkit/schema/<dialect>/V0_7__outboxkit_audit.sql}; {@link RelaySchema#create} and {@code
 * CdcSchema.create} create the table for development.
 *
 * @since 0.7
 */
public final class AuditSchema {

  /** The columns of the audit table. */
  public static final List<String> COLUMNS =
      List.of(
          "id",
          "occurred_at",
          "principal",
          "source_address",
          "operation",
          "target",
          "item_count",
          "outcome",
          "reason");

  private AuditSchema() {}

  /**
   * The audit table next to an outbox table (same schema).
   *
   * @param outbox the outbox table
   */
  public static OutboxTable table(OutboxTable outbox) {
    return new OutboxTable(outbox.schema(), RelayDefaults.AUDIT_TABLE);
  }

  /**
   * The classpath location of the shipped Flyway script for a dialect.
   *
   * @param dialect the dialect
   */
  public static String scriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_7__outboxkit_audit.sql";
  }

  /**
   * The statements that create the audit table when missing.
   *
   * @param dialect the database's dialect
   * @param table the audit table
   * @throws IllegalArgumentException for a dialect without the relay's SQL ({@link RelaySql#of})
   */
  public static List<String> createStatements(OutboxDialect dialect, OutboxTable table) {
    String t = table.qualifiedName();
    String ddl = RelaySql.of(dialect).createAuditTable();
    return List.of(ddl.formatted(t));
  }

  /**
   * Creates the audit table when it does not exist. Safe to run at every start, also by instances
   * starting together ({@link SchemaCreationLock}).
   *
   * @param connection a connection; with auto-commit off, the caller commits
   * @param dialect the database's dialect
   * @param table the audit table
   * @throws OutboxStoreException when the database refuses a statement
   */
  public static void create(Connection connection, OutboxDialect dialect, OutboxTable table) {
    try {
      SchemaCreationLock.execute(connection, dialect, () -> createStatements(dialect, table));
    } catch (SQLException e) {
      throw new OutboxStoreException("Could not create audit table " + table, e);
    }
  }

  /**
   * Checks that the audit table exists with every column.
   *
   * @param connection a connection in auto-commit mode
   * @param dialect the database's dialect
   * @param table the audit table
   * @throws dev.outboxkit.outbox.OutboxSchemaException naming what is missing and how to create it
   */
  public static void verify(Connection connection, OutboxDialect dialect, OutboxTable table) {
    String how =
        "Apply the script "
            + scriptLocation(dialect)
            + " from outbox-relay with your migration tool (see docs/relay.md), or for development"
            + " let OutboxKit create it (Spring Boot: outbox.relay.auto-create=true; plain Java:"
            + " AuditSchema.create).";
    OutboxSchema.verifyColumns(connection, dialect, table, COLUMNS, how, "Audit");
  }
}
