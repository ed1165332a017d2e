package dev.outboxkit.relay.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.delivery.KeyHolds;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.test.TestDatabaseExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Rebalancing under a backlog: a publishing thread with a batch always in flight (it reads the next
 * batch before the previous one ends, as read-ahead does) must still hand partitions to a new
 * instance. Heartbeats are driven by the test, so the outcome does not depend on timing.
 */
class LeaseRebalanceIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private OutboxDialect dialect;

  @BeforeEach
  void createTables() throws SQLException {
    dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_relay_lease");
      s.execute("DELETE FROM outbox_relay_member");
    }
  }

  private LeaseManager manager(String name) throws SQLException {
    LeaseManager m =
        new LeaseManager(
            new Jdbc(db.dataSource()),
            new LeaseStore(
                dialect,
                OutboxTable.of(RelayDefaults.LEASE_TABLE),
                OutboxTable.of(RelayDefaults.MEMBER_TABLE)),
            new OutboxRows(dialect, OutboxTable.DEFAULT),
            new KeyHolds(),
            new RelayMetrics(new SimpleMeterRegistry(), "outbox_event"),
            name,
            16,
            Duration.ofSeconds(30),
            Duration.ofMillis(100),
            Duration.ofSeconds(1),
            null);
    m.init();
    return m;
  }

  @Test
  void aBusyInstanceHandsOverItsSurplusWithinTwoHeartbeats() throws SQLException {
    LeaseManager busy = manager("busy~1");
    busy.heartbeat();
    assertThat(busy.owned()).hasSize(16);
    Set<Integer> inFlight = busy.beginBatch(0, 1);
    LeaseManager joining = manager("joining~1");
    joining.heartbeat();
    for (int round = 0; round < 3; round++) {
      // The next batch is read while the previous one is in flight, then the previous one ends.
      Set<Integer> next = busy.beginBatch(0, 1);
      busy.endBatch(inFlight);
      inFlight = next;
      busy.heartbeat();
      joining.heartbeat();
    }
    assertThat(joining.owned()).as("partitions of the joining instance").hasSize(8);
    assertThat(busy.owned()).hasSize(8);
    assertThat(inFlight).as("a batch begun now reads only what stays").hasSize(8);
    busy.endBatch(inFlight);
  }

  @Test
  void anOwnerThatRenewsBetweenBeingFoundDeadAndTheClaimKeepsItsPartition() throws Exception {
    LeaseManager slow = manager("slow~1");
    slow.heartbeat();
    LeaseStore store =
        new LeaseStore(
            dialect,
            OutboxTable.of(RelayDefaults.LEASE_TABLE),
            OutboxTable.of(RelayDefaults.MEMBER_TABLE));
    try (Connection c = db.dataSource().getConnection()) {
      LeaseStore.LeaseRow seen = store.all(c).get(0);
      assertThat(seen.owner()).isEqualTo("slow~1");
      Thread.sleep(20);
      // Found dead from what was seen, but it renews before the claim.
      slow.heartbeat();
      Instant expires = store.now(c).plusSeconds(30);
      assertThat(
              store.claimFrom(
                  c, seen.partition(), seen.epoch(), seen.expiresAt(), "slow~1", "b~1", expires))
          .as("a claim from what was seen before the renewal")
          .isFalse();
      LeaseStore.LeaseRow now = store.all(c).get(0);
      assertThat(
              store.claimFrom(
                  c, now.partition(), now.epoch(), now.expiresAt(), "slow~1", "b~1", expires))
          .as("a claim from what is there now")
          .isTrue();
    }
  }
}
