package dev.outboxkit.idempotency;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.util.UUID;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

class IdempotencyPurgerTests {

  @Test
  void aFailedPurgeIsCountedPerTable() throws Exception {
    JdbcDataSource dataSource = new JdbcDataSource();
    dataSource.setURL("jdbc:h2:mem:purger-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
    OutboxDialect dialect;
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement()) {
      dialect = OutboxDialect.detect(connection);
      IdempotencySchema.create(
          connection,
          dialect,
          OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
          OutboxTable.of(IdempotencyDefaults.INBOX_TABLE));
      statement.execute("DROP TABLE " + IdempotencyDefaults.KEY_TABLE);
    }
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    IdempotencyPurger purger =
        new IdempotencyPurger(
            dataSource,
            dialect,
            OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
            OutboxTable.of(IdempotencyDefaults.INBOX_TABLE),
            10,
            2,
            Clock.systemUTC(),
            registry);
    assertThatThrownBy(purger::purgeExpired).isInstanceOf(RuntimeException.class);
    Counter failures =
        registry.find("idempotency.purge.failures").tag("table", "idempotency_key").counter();
    assertThat(failures).as("idempotency.purge.failures{table=idempotency_key}").isNotNull();
    assertThat(failures.count()).isEqualTo(1);
  }
}
