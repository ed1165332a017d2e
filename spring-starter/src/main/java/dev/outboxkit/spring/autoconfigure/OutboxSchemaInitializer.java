package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.InitializingBean;

/**
 * Creates (when asked) and checks the outbox table while the context starts, after Flyway,
 * Liquibase and SQL scripts have run, so a missing table or column stops the application before it
 * takes traffic.
 */
public final class OutboxSchemaInitializer implements InitializingBean {

  private static final Logger log = LoggerFactory.getLogger(OutboxSchemaInitializer.class);

  private final DataSource dataSource;
  private final OutboxDialect dialect;
  private final OutboxTable table;
  private final boolean create;
  private final boolean verify;

  OutboxSchemaInitializer(
      DataSource dataSource,
      OutboxDialect dialect,
      OutboxTable table,
      boolean create,
      boolean verify) {
    this.dataSource = dataSource;
    this.dialect = dialect;
    this.table = table;
    this.create = create;
    this.verify = verify;
  }

  @Override
  public void afterPropertiesSet() {
    SchemaCheck.run(
        dataSource,
        "outbox table " + table,
        create,
        connection -> {
          OutboxSchema.create(connection, dialect, table);
          log.info("Outbox table {} is in place (outbox.store.auto-create=true)", table);
        },
        verify,
        connection -> OutboxSchema.verify(connection, dialect, table));
  }
}
