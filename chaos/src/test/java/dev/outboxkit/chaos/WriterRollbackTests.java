package dev.outboxkit.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.idempotency.IdempotencyKey;
import dev.outboxkit.idempotency.IdempotencyKeyInFlightException;
import dev.outboxkit.outbox.OutboxStoreException;
import java.sql.SQLException;
import java.sql.SQLTransactionRollbackException;
import java.sql.SQLTransientConnectionException;
import org.junit.jupiter.api.Test;

/**
 * Which failed commits of the chaos writers count as rolled back by the database: only those a
 * relay's locks can cause, never those of a fault (a killed session, a lost connection).
 */
class WriterRollbackTests {

  @Test
  void aDeadlockOrALockWaitTimeoutIsARollbackByTheDatabase() {
    assertThat(
            Writers.rollbackByTheDatabase(
                new OutboxStoreException(
                    "Could not insert 40 event(s) into outbox_event",
                    new SQLTransactionRollbackException(
                        "(conn=280) Deadlock found when trying to get lock", "40001", 1213))))
        .contains("40001", "1213", "Deadlock found");
    assertThat(
            Writers.rollbackByTheDatabase(
                new RuntimeException(new SQLException("deadlock detected", "40P01", 0))))
        .contains("40P01");
    assertThat(
            Writers.rollbackByTheDatabase(
                new SQLException("Lock wait timeout exceeded", "HY000", 1205)))
        .contains("1205");
  }

  @Test
  void aDeadlockWhileClaimingAnIdempotencyKeyIsOneToo() {
    // What Idempotency.execute and Inbox.process throw when the database rolled the transaction
    // back while they waited for a key (a purge's deadlock, review14 finding 3).
    assertThat(
            Writers.rollbackByTheDatabase(
                new IdempotencyKeyInFlightException(
                    IdempotencyKey.of(KeyClaims.scope(0), "k1"),
                    new SQLTransactionRollbackException(
                        "(conn=11) Deadlock found when trying to get lock", "40001", 1213))))
        .isEqualTo("SQL state 40001, error 1213: (conn=11) Deadlock found when trying to get lock");
    // Held past the lock timeout without a rollback: a blocked claim (KeyClaims), not a rollback.
    assertThat(
            Writers.rollbackByTheDatabase(
                new IdempotencyKeyInFlightException(IdempotencyKey.of(KeyClaims.scope(0), "m1"))))
        .isNull();
  }

  @Test
  void aFaultsLostConnectionOrKilledSessionIsNot() {
    assertThat(
            Writers.rollbackByTheDatabase(
                new SQLTransientConnectionException("Connection is not available", "08003")))
        .isNull();
    assertThat(
            Writers.rollbackByTheDatabase(new SQLException("Connection was killed", "70100", 1927)))
        .isNull();
    assertThat(
            Writers.rollbackByTheDatabase(
                new SQLException("terminating connection due to administrator command", "57P01")))
        .isNull();
    assertThat(Writers.rollbackByTheDatabase(new IllegalStateException("no cause"))).isNull();
  }
}
