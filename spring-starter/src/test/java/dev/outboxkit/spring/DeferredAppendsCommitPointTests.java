package dev.outboxkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.DriverManagerDataSource;
import org.springframework.transaction.support.DefaultTransactionStatus;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Review finding: with deferred appends (on by default in the starter), an append made from a
 * synchronization's {@code afterCommit} in a transaction that appended nothing before is held in a
 * fresh state whose {@code beforeCommit} never runs: append returns normally, nothing is inserted,
 * no error. Without deferral (and when the transaction had appended before, so its state is closed)
 * the same append is inserted (Spring's auto-commit restore commits it). In-memory H2, no server.
 */
class DeferredAppendsCommitPointTests {

  private DriverManagerDataSource dataSource;
  private JdbcTemplate jdbc;
  private TransactionTemplate transactions;

  @BeforeEach
  void setUp() throws Exception {
    dataSource =
        new DriverManagerDataSource(
            "jdbc:h2:mem:after-commit-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
    try (Connection connection = dataSource.getConnection()) {
      OutboxSchema.create(connection, OutboxDialect.h2(), OutboxTable.of("outbox_event"));
    }
    jdbc = new JdbcTemplate(dataSource);
    DataSourceTransactionManager manager = new DataSourceTransactionManager(dataSource);
    manager.addListener(new OutboxTransactionListener(dataSource));
    transactions = new TransactionTemplate(manager);
  }

  private Outbox outbox(boolean defer) {
    return Outbox.builder()
        .connectionProvider(new SpringConnectionProvider(dataSource))
        .dialect(OutboxDialect.h2())
        .table(OutboxTable.of("outbox_event"))
        .deferAppends(defer)
        .build();
  }

  /** Appends from afterCommit; returns the append's exception, or null when it returned. */
  private RuntimeException appendInAfterCommit(Outbox outbox, String key, boolean appendBefore) {
    AtomicReference<RuntimeException> thrown = new AtomicReference<>();
    transactions.executeWithoutResult(
        status -> {
          if (appendBefore) {
            outbox.append("Order", key, "Before", "{}");
          }
          TransactionSynchronizationManager.registerSynchronization(
              new TransactionSynchronization() {
                @Override
                public void afterCommit() {
                  try {
                    outbox.append("Order", key, "AfterCommit", "{}");
                  } catch (RuntimeException e) {
                    thrown.set(e);
                  }
                }
              });
        });
    return thrown.get();
  }

  private int count(String key, String type) {
    return jdbc.queryForObject(
        "SELECT count(*) FROM outbox_event WHERE aggregateid = ? AND type = ?",
        Integer.class,
        key,
        type);
  }

  @Test
  void withoutDeferralAnAppendInAfterCommitIsInserted() {
    RuntimeException thrown = appendInAfterCommit(outbox(false), "plain", false);
    assertThat(thrown).isNull();
    assertThat(count("plain", "AfterCommit")).isOne();
  }

  @Test
  void deferredWithAnEarlierAppendAnAppendInAfterCommitIsInserted() {
    RuntimeException thrown = appendInAfterCommit(outbox(true), "closed-state", true);
    assertThat(thrown).isNull();
    assertThat(count("closed-state", "AfterCommit")).isOne();
  }

  @Test
  void deferredAnAppendInAfterCommitIsNeitherLostSilentlyNorAccepted() {
    RuntimeException thrown = appendInAfterCommit(outbox(true), "fresh-state", false);
    // Either the append refuses (an exception) or the event is in the table; returning normally
    // with no row is a silent loss.
    assertThat(thrown == null ? count("fresh-state", "AfterCommit") : 1)
        .as(
            "append in afterCommit returned normally (exception %s) but no row was inserted",
            thrown)
        .isOne();
  }

  /**
   * JpaTransactionManager flushes the EntityManager inside doCommit, after every
   * TransactionExecutionListener's beforeCommit: an entity callback that appends at that flush
   * (e.g. {@code @PreUpdate}, {@code @PostPersist}) appends after the outbox's commit point but
   * before the JDBC commit. This manager does the same thing without JPA.
   */
  @Test
  void deferredAFirstAppendMadeDuringTheCommitFlushIsNotLost() {
    Outbox outbox = outbox(true);
    DataSourceTransactionManager flushingAtCommit =
        new DataSourceTransactionManager(dataSource) {
          @Override
          protected void doCommit(DefaultTransactionStatus status) {
            // What Hibernate's commit-time flush does when an entity callback appends.
            outbox.append("Order", "commit-flush", "FlushedAtCommit", "{}");
            super.doCommit(status);
          }
        };
    flushingAtCommit.addListener(new OutboxTransactionListener(dataSource));
    new TransactionTemplate(flushingAtCommit)
        .executeWithoutResult(
            status -> jdbc.update("UPDATE outbox_event SET attempts = 0 WHERE 1 = 0"));

    assertThat(count("commit-flush", "FlushedAtCommit"))
        .as(
            "the append returned normally inside the committing transaction, before its JDBC commit")
        .isOne();
  }
}
