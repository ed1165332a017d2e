package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.outbox.OutboxStoreException;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * What the start-up schema beans share: one auto-commit connection (a failed check must not poison
 * a transaction on PostgreSQL), create when asked, then verify when asked.
 */
final class SchemaCheck {

  /** A step on the connection. */
  @FunctionalInterface
  interface Step {
    void run(Connection connection);
  }

  private SchemaCheck() {}

  static void run(
      DataSource dataSource,
      String what,
      boolean create,
      Step creation,
      boolean verify,
      Step check) {
    if (!create && !verify) {
      return;
    }
    try (Connection connection = dataSource.getConnection()) {
      connection.setAutoCommit(true);
      if (create) {
        creation.run(connection);
      }
      if (verify) {
        check.run(connection);
      }
    } catch (SQLException e) {
      throw new OutboxStoreException("Could not open a connection to check " + what, e);
    }
  }
}
