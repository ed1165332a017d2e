package dev.outboxkit.idempotency;

import dev.outboxkit.idempotency.internal.dialect.IdempotencyDialect;
import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.SchemaCreationLock;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.SQLException;
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
   * @throws IllegalArgumentException for a dialect without idempotency SQL, naming what it lacks
   */
  public static List<String> createStatements(
      OutboxDialect dialect, OutboxTable keys, OutboxTable inbox) {
    return IdempotencyDialect.of(dialect).createStatements(keys, inbox);
  }

  /**
   * Creates both tables when missing. Safe to run at every start (on existing tables it does not
   * wait for open transactions that write to them; instances starting together create one after
   * another, {@link SchemaCreationLock}); for development and tests.
   *
   * @param connection a connection; with auto-commit off, the caller commits
   * @param dialect the dialect
   * @param keys the key table
   * @param inbox the inbox table
   */
  public static void create(
      Connection connection, OutboxDialect dialect, OutboxTable keys, OutboxTable inbox) {
    try {
      SchemaCreationLock.execute(
          connection,
          dialect,
          () -> IdempotencyDialect.of(dialect).createMissingStatements(connection, keys, inbox));
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
