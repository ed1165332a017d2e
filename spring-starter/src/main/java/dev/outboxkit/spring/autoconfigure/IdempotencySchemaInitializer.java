package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.idempotency.IdempotencySchema;
import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.springframework.beans.factory.InitializingBean;

/**
 * Creates (when asked) and checks the idempotency key and inbox tables while the context starts,
 * after Flyway, Liquibase and SQL scripts.
 */
public final class IdempotencySchemaInitializer implements InitializingBean {

  private final DataSource dataSource;
  private final OutboxDialect dialect;
  private final OutboxTable keys;
  private final OutboxTable inbox;
  private final boolean create;
  private final boolean verify;

  IdempotencySchemaInitializer(
      DataSource dataSource,
      OutboxDialect dialect,
      OutboxTable keys,
      OutboxTable inbox,
      boolean create,
      boolean verify) {
    this.dataSource = dataSource;
    this.dialect = dialect;
    this.keys = keys;
    this.inbox = inbox;
    this.create = create;
    this.verify = verify;
  }

  @Override
  public void afterPropertiesSet() {
    if (!create && !verify) {
      return;
    }
    try (Connection connection = dataSource.getConnection()) {
      connection.setAutoCommit(true);
      if (create) {
        IdempotencySchema.create(connection, dialect, keys, inbox);
      }
      if (verify) {
        IdempotencySchema.verify(connection, dialect, keys, IdempotencySchema.KEY_COLUMNS);
        IdempotencySchema.verify(connection, dialect, inbox, IdempotencySchema.INBOX_COLUMNS);
      }
    } catch (SQLException e) {
      throw new OutboxStoreException(
          "Could not open a connection to check " + keys + " and " + inbox, e);
    }
  }
}
