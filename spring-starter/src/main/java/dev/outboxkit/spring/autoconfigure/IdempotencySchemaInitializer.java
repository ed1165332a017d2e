package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.idempotency.IdempotencySchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
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
    SchemaCheck.run(
        dataSource,
        "tables " + keys + " and " + inbox,
        create,
        connection -> IdempotencySchema.create(connection, dialect, keys, inbox),
        verify,
        connection -> {
          IdempotencySchema.verify(connection, dialect, keys, IdempotencySchema.KEY_COLUMNS);
          IdempotencySchema.verify(connection, dialect, inbox, IdempotencySchema.INBOX_COLUMNS);
        });
  }
}
