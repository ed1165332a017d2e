package dev.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.idempotency.Idempotency;
import dev.outboxkit.idempotency.IdempotencyKey;
import dev.outboxkit.idempotency.IdempotencyOutcome;
import dev.outboxkit.outbox.InvalidEventException;
import dev.outboxkit.outbox.NoActiveTransactionException;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.spring.app.PaymentAuthorized;
import dev.outboxkit.spring.app.PaymentService;
import dev.outboxkit.spring.app.PaymentTestApplication;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.support.JdbcTransactionManager;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
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
  @Autowired OutboxDialect dialect;
  @Autowired Idempotency idempotency;
  @Autowired OutboxTransactionListener listener;
  @Autowired DataSource dataSource;

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

  // Deferred appends (outbox.store.defer-appends, on by default): events appended one by one are
  // held and inserted together just before the commit.

  @Test
  void eventsAppendedOneByOneAreHeldUntilTheCommitThenAllThereInAppendOrder() {
    transactions.executeWithoutResult(
        status -> {
          jdbc.update("INSERT INTO payment_audit (payment_id, action) VALUES ('held', 'A')");
          for (int i = 0; i < 5; i++) {
            outbox.append("Payment", "held-order", "E" + i, "{}");
          }
          // Held, not inserted: the transaction's own query does not see them yet.
          assertThat(count("SELECT count(*) FROM outbox_event WHERE aggregateid = 'held-order'"))
              .isZero();
        });

    assertThat(types("held-order")).containsExactly("E0", "E1", "E2", "E3", "E4");
  }

  @Test
  void aRollbackLeavesNoneOfTheHeldEvents() {
    transactions.executeWithoutResult(
        status -> {
          outbox.append("Payment", "held-rollback", "E0", "{}");
          outbox.append("Payment", "held-rollback", "E1", "{}");
          status.setRollbackOnly();
        });
    assertThatThrownBy(
            () ->
                transactions.executeWithoutResult(
                    status -> {
                      outbox.append("Payment", "held-rollback", "E2", "{}");
                      throw new IllegalStateException("business failure");
                    }))
        .hasMessage("business failure");

    assertThat(types("held-rollback")).isEmpty();
  }

  @Test
  void aDatabaseFailureAtTheCommitRollsBackTheBusinessRowAndReachesTheCaller() {
    // An outbox whose table does not exist: the insert fails only when the held events go in.
    Outbox missingTable =
        Outbox.builder()
            .connectionProvider(connections)
            .dialect(dialect)
            .table(OutboxTable.of("no_such_outbox"))
            .deferAppends(true)
            .build();

    assertThatThrownBy(
            () ->
                transactions.executeWithoutResult(
                    status -> {
                      jdbc.update(
                          "INSERT INTO payment_audit (payment_id, action) VALUES ('held-fail', 'A')");
                      missingTable.append("Payment", "held-fail", "E0", "{}");
                      outbox.append("Payment", "held-fail", "E1", "{}");
                    }))
        .isInstanceOf(OutboxStoreException.class)
        .hasMessageContaining("no_such_outbox");

    assertThat(count("SELECT count(*) FROM payment_audit WHERE payment_id = 'held-fail'")).isZero();
    assertThat(types("held-fail")).isEmpty();
  }

  @Test
  void anInvalidEventFailsAtItsAppendBeforeTheCommit() {
    transactions.executeWithoutResult(
        status -> {
          outbox.append("Payment", "held-invalid", "E0", "{}");
          assertThatThrownBy(() -> outbox.append("Payment", " ", "E1", "{}"))
              .isInstanceOf(InvalidEventException.class);
          outbox.append("Payment", "held-invalid", "E2", "{}");
        });

    assertThat(types("held-invalid")).containsExactly("E0", "E2");
  }

  @Test
  void appendAllInsertsAtItsCallAfterTheHeldEventsSoOrderIsKept() {
    transactions.executeWithoutResult(
        status -> {
          outbox.append("Payment", "held-mixed", "E0", "{}");
          outbox.appendAll(
              List.of(
                  OutboxMessage.of("Payment", "held-mixed", "E1", "{}"),
                  OutboxMessage.of("Payment", "held-mixed", "E2", "{}")));
          assertThat(types("held-mixed")).containsExactly("E0", "E1", "E2");
          outbox.append("Payment", "held-mixed", "E3", "{}");
          assertThat(types("held-mixed")).containsExactly("E0", "E1", "E2");
          outbox.flush();
          assertThat(types("held-mixed")).containsExactly("E0", "E1", "E2", "E3");
          outbox.append("Payment", "held-mixed", "E4", "{}");
        });

    assertThat(types("held-mixed")).containsExactly("E0", "E1", "E2", "E3", "E4");
  }

  @Test
  void aNestedTransactionRolledBackDropsTheEventsItHeldOnly() {
    // JpaTransactionManager allows no savepoints by default; a JDBC transaction manager on the
    // same DataSource with the starter's listener does (NESTED = a savepoint Spring announces).
    JdbcTransactionManager manager = new JdbcTransactionManager(dataSource);
    manager.addListener(listener);
    TransactionTemplate outer = new TransactionTemplate(manager);
    TransactionTemplate nested = new TransactionTemplate(manager);
    nested.setPropagationBehavior(TransactionDefinition.PROPAGATION_NESTED);
    outer.executeWithoutResult(
        status -> {
          outbox.append("Payment", "held-nested", "E0", "{}");
          nested.executeWithoutResult(
              inner -> {
                outbox.append("Payment", "held-nested", "dropped", "{}");
                inner.setRollbackOnly();
              });
          nested.executeWithoutResult(inner -> outbox.append("Payment", "held-nested", "E1", "{}"));
          assertThat(types("held-nested")).isEmpty();
          outbox.append("Payment", "held-nested", "E2", "{}");
        });

    assertThat(types("held-nested")).containsExactly("E0", "E1", "E2");
  }

  @Test
  void anInnerRequiresNewTransactionHoldsAndCommitsItsOwnEvents() {
    TransactionTemplate requiresNew = new TransactionTemplate(transactions.getTransactionManager());
    requiresNew.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
    transactions.executeWithoutResult(
        status -> {
          outbox.append("Payment", "held-new", "outer", "{}");
          requiresNew.executeWithoutResult(
              inner -> outbox.append("Payment", "held-new", "inner", "{}"));
          assertThat(types("held-new")).containsExactly("inner");
          status.setRollbackOnly();
        });

    assertThat(types("held-new")).containsExactly("inner");
  }

  @Test
  void anEventAppendedWhileTheTransactionCommitsIsInsertedEvenAsItsFirst() {
    // E.g. from a @TransactionalEventListener(phase = BEFORE_COMMIT), in a transaction that
    // appended nothing before: the listener's commit point runs after every synchronization.
    transactions.executeWithoutResult(
        status ->
            TransactionSynchronizationManager.registerSynchronization(
                new TransactionSynchronization() {
                  @Override
                  public void beforeCommit(boolean readOnly) {
                    outbox.append("Payment", "held-late", "E0", "{}");
                    outbox.append("Payment", "held-late", "E1", "{}");
                  }
                }));

    assertThat(types("held-late")).containsExactly("E0", "E1");
  }

  @Test
  void eventsOfIdempotentWorkThatFailedAreDroppedWithItsWrites() {
    transactions.executeWithoutResult(
        status -> {
          outbox.append("Payment", "held-idem", "E0", "{}");
          assertThatThrownBy(
                  () ->
                      idempotency.execute(
                          IdempotencyKey.of("test", "held-idem-" + System.nanoTime()),
                          "f",
                          String.class,
                          () -> {
                            outbox.append("Payment", "held-idem", "dropped", "{}");
                            throw new IllegalStateException("work failed");
                          }))
              .hasMessage("work failed");
          outbox.append("Payment", "held-idem", "E1", "{}");
        });

    assertThat(types("held-idem")).containsExactly("E0", "E1");
  }

  /**
   * Review suspicion: the piggybacked idempotency savepoint has one fixed name, so an idempotent
   * call inside another could release or roll back the outer one's savepoint, or restore the wrong
   * held events. The inner failure must undo only the inner writes, key and events.
   */
  @Test
  void aFailedIdempotentCallInsideAnotherUndoesOnlyItsOwnWritesKeyAndEvents() {
    String outerKey = "nest-outer-" + System.nanoTime();
    String innerKey = "nest-inner-" + System.nanoTime();
    String id = "held-nest-" + System.nanoTime();
    transactions.executeWithoutResult(
        status -> {
          outbox.append("Payment", id, "E0", "{}");
          IdempotencyOutcome<String> outer =
              idempotency.execute(
                  IdempotencyKey.of("test", outerKey),
                  "f",
                  String.class,
                  () -> {
                    audit(id, "outer-before");
                    outbox.append("Payment", id, "O1", "{}");
                    assertThatThrownBy(
                            () ->
                                idempotency.execute(
                                    IdempotencyKey.of("test", innerKey),
                                    "f",
                                    String.class,
                                    () -> {
                                      audit(id, "inner");
                                      outbox.append("Payment", id, "dropped", "{}");
                                      throw new IllegalStateException("inner failed");
                                    }))
                        .hasMessage("inner failed");
                    audit(id, "outer-after");
                    outbox.append("Payment", id, "O2", "{}");
                    return "outer done";
                  });
          assertThat(outer).isInstanceOf(IdempotencyOutcome.Executed.class);
          outbox.append("Payment", id, "E1", "{}");
        });

    assertThat(types(id)).containsExactly("E0", "O1", "O2", "E1");
    assertThat(
            jdbc.queryForList(
                "SELECT action FROM payment_audit WHERE payment_id = ? ORDER BY id",
                String.class,
                id))
        .containsExactly("outer-before", "outer-after");
    assertThat(keys(outerKey)).isOne();
    assertThat(keys(innerKey)).isZero();
  }

  /** The other way round: a successful inner call is undone with the outer call that failed. */
  @Test
  void aSucceededIdempotentCallInsideAFailedOneIsUndoneWithIt() {
    String outerKey = "nest-outer-" + System.nanoTime();
    String innerKey = "nest-inner-" + System.nanoTime();
    String id = "held-nest-" + System.nanoTime();
    transactions.executeWithoutResult(
        status -> {
          outbox.append("Payment", id, "E0", "{}");
          assertThatThrownBy(
                  () ->
                      idempotency.execute(
                          IdempotencyKey.of("test", outerKey),
                          "f",
                          String.class,
                          () -> {
                            outbox.append("Payment", id, "dropped-outer", "{}");
                            IdempotencyOutcome<String> inner =
                                idempotency.execute(
                                    IdempotencyKey.of("test", innerKey),
                                    "f",
                                    String.class,
                                    () -> {
                                      audit(id, "inner");
                                      outbox.append("Payment", id, "dropped-inner", "{}");
                                      return "inner done";
                                    });
                            assertThat(inner).isInstanceOf(IdempotencyOutcome.Executed.class);
                            audit(id, "outer");
                            throw new IllegalStateException("outer failed");
                          }))
              .hasMessage("outer failed");
          outbox.append("Payment", id, "E1", "{}");
        });

    assertThat(types(id)).containsExactly("E0", "E1");
    assertThat(count("SELECT count(*) FROM payment_audit WHERE payment_id = '" + id + "'"))
        .isZero();
    assertThat(keys(outerKey)).isZero();
    assertThat(keys(innerKey)).isZero();
  }

  /**
   * {@code TransactionStatus.flush()} of a JDBC transaction manager flushes the transaction's
   * synchronizations: the held events are inserted then, so the transaction's own queries see them
   * (a JPA manager's flush reaches only the EntityManager: there {@code outbox.flush()} does it).
   */
  @Test
  void transactionStatusFlushInsertsTheHeldEventsSoTheTransactionSeesThem() {
    JdbcTransactionManager manager = new JdbcTransactionManager(dataSource);
    manager.addListener(listener);
    String id = "held-status-flush-" + System.nanoTime();
    new TransactionTemplate(manager)
        .executeWithoutResult(
            status -> {
              outbox.append("Payment", id, "E0", "{}");
              outbox.append("Payment", id, "E1", "{}");
              assertThat(types(id)).isEmpty();
              status.flush();
              assertThat(types(id)).containsExactly("E0", "E1");
              outbox.append("Payment", id, "E2", "{}");
            });

    assertThat(types(id)).containsExactly("E0", "E1", "E2");
  }

  /** {@code outbox.flush()} does it under any transaction manager, JPA's included. */
  @Test
  void outboxFlushInsertsTheHeldEventsUnderTheJpaTransactionManager() {
    String id = "held-outbox-flush-" + System.nanoTime();
    transactions.executeWithoutResult(
        status -> {
          outbox.append("Payment", id, "E0", "{}");
          assertThat(types(id)).isEmpty();
          outbox.flush();
          assertThat(types(id)).containsExactly("E0");
        });

    assertThat(types(id)).containsExactly("E0");
  }

  private void audit(String paymentId, String action) {
    jdbc.update("INSERT INTO payment_audit (payment_id, action) VALUES (?, ?)", paymentId, action);
  }

  private int keys(String key) {
    return jdbc.queryForObject(
        "SELECT count(*) FROM idempotency_key WHERE idem_key LIKE ?", Integer.class, "%" + key);
  }

  private List<Object> types(String aggregateId) {
    return jdbc.queryForList(
        "SELECT type FROM outbox_event WHERE aggregateid = ? ORDER BY seq",
        Object.class,
        aggregateId);
  }

  private int count(String sql) {
    return jdbc.queryForObject(sql, Integer.class);
  }
}
