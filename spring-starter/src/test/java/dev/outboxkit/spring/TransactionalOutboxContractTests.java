package dev.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.NoActiveTransactionException;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.spring.app.PaymentAuthorized;
import dev.outboxkit.spring.app.PaymentService;
import dev.outboxkit.spring.app.PaymentTestApplication;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * A @Transactional service writing with JPA, JdbcTemplate and the outbox on a real database; one
 * subclass per database.
 */
@SpringBootTest(classes = PaymentTestApplication.class)
@ServerTest
abstract class TransactionalOutboxContractTests {

  /** The Spring properties that point the application at a test database. */
  static void database(TestDatabaseExtension db, DynamicPropertyRegistry registry) {
    registry.add("spring.datasource.url", db::jdbcUrl);
    registry.add("spring.datasource.username", () -> db.database().username());
    registry.add("spring.datasource.password", () -> db.database().password());
    registry.add("spring.jpa.hibernate.ddl-auto", () -> "create");
    registry.add("spring.sql.init.mode", () -> "always");
    registry.add(
        "spring.sql.init.schema-locations",
        () -> "classpath:payment-schema-" + db.kind().key() + ".sql");
    registry.add("outbox.store.auto-create", () -> "true");
    registry.add("outbox.idempotency.auto-create", () -> "true");
  }

  @Autowired PaymentService payments;
  @Autowired Outbox outbox;
  @Autowired JdbcTemplate jdbc;
  @Autowired TransactionTemplate transactions;
  @Autowired ApplicationEventPublisher events;
  @Autowired ConnectionProvider connections;

  @Test
  void jpaJdbcTemplateAndOutboxCommitTogether() {
    payments.authorize("pay-commit", 1250, false);

    assertThat(count("SELECT count(*) FROM payment WHERE id = 'pay-commit'")).isOne();
    assertThat(count("SELECT count(*) FROM payment_audit WHERE payment_id = 'pay-commit'")).isOne();
    List<Map<String, Object>> events =
        jdbc.queryForList(
            "SELECT type, payload FROM outbox_event WHERE aggregateid = 'pay-commit' ORDER BY seq");
    assertThat(events)
        .extracting(row -> row.get("type"))
        .containsExactly("PaymentRequested", "PaymentAuthorized");
    assertThat(new String((byte[]) events.get(1).get("payload"), StandardCharsets.UTF_8))
        .isEqualTo("{\"paymentId\":\"pay-commit\",\"amountMinor\":1250,\"currency\":\"EUR\"}");
  }

  @Test
  void anExceptionRollsBackJpaJdbcTemplateAndOutboxTogether() {
    assertThatThrownBy(() -> payments.authorize("pay-rollback", 990, true))
        .hasMessage("card declined after the writes");

    assertThat(count("SELECT count(*) FROM payment WHERE id = 'pay-rollback'")).isZero();
    assertThat(count("SELECT count(*) FROM payment_audit WHERE payment_id = 'pay-rollback'"))
        .isZero();
    assertThat(count("SELECT count(*) FROM outbox_event WHERE aggregateid = 'pay-rollback'"))
        .isZero();
  }

  @Test
  void appendingOrPublishingOutsideATransactionFails() {
    assertThatThrownBy(() -> outbox.append("Payment", "pay-none", "PaymentAuthorized", "{}"))
        .isInstanceOf(NoActiveTransactionException.class)
        .hasMessageContaining("@Transactional");
    assertThatThrownBy(() -> events.publishEvent(new PaymentAuthorized("pay-none", 1, "EUR")))
        .isInstanceOf(NoActiveTransactionException.class);
    assertThat(count("SELECT count(*) FROM outbox_event WHERE aggregateid = 'pay-none'")).isZero();
  }

  @Test
  void afterCommitCallbacksRunOnlyWhenTheTransactionCommits() {
    AtomicBoolean committed = new AtomicBoolean();
    transactions.executeWithoutResult(
        status -> {
          outbox.append("Payment", "pay-cb", "PaymentAuthorized", "{}");
          connections.afterCommit(() -> committed.set(true));
          assertThat(committed).isFalse();
        });
    assertThat(committed).isTrue();

    AtomicBoolean rolledBack = new AtomicBoolean();
    transactions.executeWithoutResult(
        status -> {
          connections.afterCommit(() -> rolledBack.set(true));
          status.setRollbackOnly();
        });
    assertThat(rolledBack).isFalse();
  }

  private int count(String sql) {
    return jdbc.queryForObject(sql, Integer.class);
  }
}
