package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.internal.LeaseStore;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Rebalancing under a backlog: a publishing thread with a batch always in flight (it reads the next
 * batch before the previous one ends, as read-ahead does) must still hand partitions to a new
 * instance. Heartbeats are driven by the test, so the outcome does not depend on timing.
 */
@ServerTest
@Isolated
class LeaseRebalanceIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  /** Heartbeat of the timed tests. */
  private static final long BEAT_MS = 500;

  /** How long the busy owner's every batch takes. */
  private static final long BATCH_MS = 100;

  private OutboxDialect dialect;

  private final List<ScheduledExecutorService> leaseThreads = new ArrayList<>();

  @BeforeEach
  void createTables() throws SQLException {
    dialect = RelayTables.create(db.dataSource());
    TestLeaseManagers.clearLeaseTables(db.dataSource());
  }

  @AfterEach
  void stopLeaseThreads() throws InterruptedException {
    for (ScheduledExecutorService thread : leaseThreads) {
      thread.shutdownNow();
      assertThat(thread.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
    }
  }

  private LeaseManager manager(String name) throws SQLException {
    return manager(name, Duration.ofMillis(100));
  }

  private LeaseManager manager(String name, Duration heartbeat) throws SQLException {
    return TestLeaseManagers.create(db.dataSource(), dialect, name, heartbeat, null);
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

  /** Heartbeats on a lease thread of its own, as {@link PollingRelay} runs them. */
  private void beat(LeaseManager m) {
    ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor();
    leaseThreads.add(thread);
    // A job that dies here rethrows its error into the executor; the relay's handler is not needed.
    m.schedule(thread, (dead, error) -> {});
  }

  /**
   * Starts a new instance next to {@code owner} (which holds all 16 partitions) right after the
   * owner's heartbeat, so that the owner's next heartbeat comes a whole interval later (the worst
   * case), and returns how long the newcomer took from its first heartbeat to hold its 8. Never may
   * both hold one partition.
   */
  private long newcomerGetsItsShare(LeaseManager owner) throws Exception {
    owner.heartbeat();
    beat(owner);
    LeaseManager joining = manager("joining~1", Duration.ofMillis(BEAT_MS));
    long start = System.nanoTime();
    joining.heartbeat();
    beat(joining);
    long deadline = start + TimeUnit.SECONDS.toNanos(10);
    while (joining.owned().size() < 8) {
      Set<Integer> both = new HashSet<>(joining.owned());
      both.retainAll(owner.owned());
      assertThat(both).as("partitions both instances hold").isEmpty();
      assertThat(System.nanoTime()).as("the newcomer got its share in 10 s").isLessThan(deadline);
      Thread.sleep(2);
    }
    long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    Set<Integer> both = new HashSet<>(joining.owned());
    both.retainAll(owner.owned());
    assertThat(both).as("partitions both instances hold").isEmpty();
    return took;
  }

  @Test
  void aNewInstanceGetsItsShareFromAnIdleOwnerWithinOneHeartbeat() throws Exception {
    LeaseManager owner = manager("owner~1", Duration.ofMillis(BEAT_MS));
    owner.heartbeat();
    assertThat(owner.owned()).hasSize(16);
    long took = newcomerGetsItsShare(owner);
    System.out.printf(
        "[rebalance] idle owner: the newcomer held 8 of 16 partitions %d ms after its first"
            + " heartbeat (heartbeat %d ms)%n",
        took, BEAT_MS);
    // One heartbeat, plus one catch-up step (a fifth of it) and a margin for the queries.
    assertThat(took).isLessThan(BEAT_MS + BEAT_MS / 5 + 150);
    assertThat(owner.owned()).hasSize(8);
  }

  @Test
  void aNewInstanceGetsItsShareFromABusyOwnerWithinOneHeartbeatAndABatch() throws Exception {
    LeaseManager owner = manager("owner~1", Duration.ofMillis(BEAT_MS));
    owner.heartbeat();
    assertThat(owner.owned()).hasSize(16);
    AtomicBoolean stop = new AtomicBoolean();
    Set<Integer> everInFlight = Collections.synchronizedSet(new HashSet<>());
    Thread publisher =
        new Thread(
            () -> {
              // A batch always in flight: the next one begins (read ahead) before the last ends.
              Set<Integer> inFlight = owner.beginBatch(0, 1);
              everInFlight.addAll(inFlight);
              try {
                while (!stop.get()) {
                  Thread.sleep(BATCH_MS);
                  Set<Integer> next = owner.beginBatch(0, 1);
                  everInFlight.addAll(next);
                  owner.endBatch(inFlight);
                  inFlight = next;
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } finally {
                owner.endBatch(inFlight);
              }
            },
            "busy-publisher");
    publisher.start();
    long took;
    try {
      took = newcomerGetsItsShare(owner);
    } finally {
      stop.set(true);
      publisher.join(5_000);
    }
    System.out.printf(
        "[rebalance] busy owner (a %d ms batch always in flight): the newcomer held 8 of 16"
            + " partitions %d ms after its first heartbeat (heartbeat %d ms)%n",
        BATCH_MS, took, BEAT_MS);
    assertThat(everInFlight).as("the owner was busy with all its partitions").hasSize(16);
    // One heartbeat, the batch in flight, one catch-up step and a margin for the queries.
    assertThat(took).isLessThan(BEAT_MS + BATCH_MS + BEAT_MS / 5 + 150);
    assertThat(owner.owned()).hasSize(8);
  }
}
