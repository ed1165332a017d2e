package dev.outboxkit.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.time.Clock;
import org.junit.jupiter.api.Test;

/**
 * A purge that fails for a fault's reason is counted and the loop goes on; only a purge the
 * database rolled back by itself counts as one (see {@link WriterRollbackTests} for what does).
 */
class PurgeLoopTests {

  @Test
  void aPurgeThatCannotReachTheDatabaseIsCountedAsAFailureButNotAsARollback() {
    HikariDataSource closed =
        ChaosEnvironment.pool("jdbc:mariadb://localhost:1/none", "chaos", "", "closed", 1);
    closed.close();
    try (PurgeLoop purge =
        new PurgeLoop(KeyLoad.defaults(), closed, OutboxDialect.mariadb(), Clock.systemUTC())) {
      purge.purgeOnce();
      purge.purgeOnce();
      assertThat(purge.runs()).isEqualTo(2);
      assertThat(purge.failures()).isEqualTo(2);
      assertThat(purge.rolledBack()).isZero();
      assertThat(purge.purged()).isZero();
      assertThat(purge.failureExamples())
          .hasSize(2)
          .allSatisfy(
              line ->
                  assertThat(line)
                      .startsWith("dev.outboxkit.outbox.OutboxStoreException: Could not purge")
                      .doesNotContain("\n"));
    }
  }
}
