package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class PostgresCdcRelayIntegrationTests extends CdcRelayContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension database() {
    return db;
  }

  /** Publications exist on PostgreSQL only; the binlog databases have no counterpart. */
  @Test
  void refusesToStartWhenThePublicationIsMissingAndMayNotBeCreated() {
    OutboxRelay relay = relay(c -> c.autoCreate(false).publication("nopub_" + engine), b -> b);
    assertThatThrownBy(relay::start)
        .hasMessageContaining(
            "CREATE PUBLICATION nopub_" + engine + " FOR TABLE public.outbox_event")
        .hasMessageContaining("outbox.relay.cdc.auto-create=true");
  }

  /**
   * Issue 23 (chaos runs: recoveries of 10 to 13 s after killed connections): when the server ends
   * the engine's replication session, Debezium restarts the connector after {@code
   * retriable.restart.connector.wait.ms}, 10 s by default. The relay sets a short wait, so an event
   * appended right after the kill is published within seconds.
   */
  @Test
  void anEventAppendedRightAfterTheEnginesSessionIsKilledIsPublishedWithinSeconds()
      throws Exception {
    startRelay();
    awaitStreaming();
    long killedAt = System.nanoTime();
    try (Connection c = dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
                    + " WHERE slot_name = ? AND active_pid IS NOT NULL")) {
      s.setString(1, engine);
      try (ResultSet rs = s.executeQuery()) {
        assertThat(rs.next()).as("the engine's walsender").isTrue();
        assertThat(rs.getBoolean(1)).isTrue();
      }
    }
    tx.execute(c -> outbox.append(OutboxMessage.of(topic, "after-kill", "AfterKill", "0")));
    try (KafkaReader reader = reader(topic)) {
      assertThat(reader.readAtLeast(1, Duration.ofSeconds(60))).hasSize(1);
    }
    Duration recovery = Duration.ofNanos(System.nanoTime() - killedAt);
    assertThat(recovery)
        .as("kill of the engine's replication session -> the next event published")
        .isLessThan(Duration.ofSeconds(6));
  }
}
