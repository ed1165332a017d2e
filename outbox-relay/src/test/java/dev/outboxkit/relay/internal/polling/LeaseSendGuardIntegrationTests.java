package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.internal.SessionLock;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * When a send may start, with session locks (fast takeover): others may take this instance's
 * partitions once its member row's heartbeat is 1.5 intervals old and its session lock is free, so
 * sends stop then; a heartbeat that is merely slow after writing the member row (a lock wait on the
 * lease table, claims of partitions with a large backlog) must not stop them while the leases stay
 * valid. The heartbeat runs on a thread of the test, slowed by row locks a test transaction holds.
 */
@ServerTest
@Isolated
class LeaseSendGuardIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final long BEAT_MS = 1_000;

  private OutboxDialect dialect;
  private SessionLock sessionLock;

  @BeforeEach
  void createTables() throws SQLException {
    dialect = RelayTables.create(db.dataSource());
    TestLeaseManagers.clearLeaseTables(db.dataSource());
  }

  @AfterEach
  void releaseLock() {
    if (sessionLock != null) {
      sessionLock.close();
    }
  }

  private LeaseManager manager(String name) throws SQLException {
    sessionLock = SessionLock.of(db.dataSource(), dialect, name);
    assertThat(sessionLock).isNotNull();
    return TestLeaseManagers.create(
        db.dataSource(), dialect, name, Duration.ofMillis(BEAT_MS), sessionLock);
  }

  /**
   * Runs a heartbeat one interval after the last (as the fixed-rate schedule does) while a test
   * transaction holds {@code lockSql}'s row locks, and returns whether a send may start 0.1 and 0.8
   * intervals into it (1.1 and 1.8 intervals after the last heartbeat), and after it ended.
   */
  private boolean[] sendableDuringABlockedHeartbeat(LeaseManager m, String lockSql)
      throws Exception {
    return sendableDuringABlockedHeartbeat(m, lockSql, BEAT_MS);
  }

  /** As above, the heartbeat {@code gapMs} after the last. */
  private boolean[] sendableDuringABlockedHeartbeat(LeaseManager m, String lockSql, long gapMs)
      throws Exception {
    m.heartbeat();
    Set<Integer> all = m.owned();
    assertThat(all).hasSize(16);
    long last = System.nanoTime();
    boolean[] sendable = new boolean[3];
    try (Connection blocker = db.dataSource().getConnection()) {
      blocker.setAutoCommit(false);
      try (Statement s = blocker.createStatement();
          ResultSet rs = s.executeQuery(lockSql)) {
        while (rs.next()) {
          // the rows are locked once read
        }
      }
      sleepUntil(last + TimeUnit.MILLISECONDS.toNanos(gapMs));
      long started = System.nanoTime();
      Thread beat = new Thread(m::heartbeat, "blocked-heartbeat");
      beat.start();
      sleepUntil(started + TimeUnit.MILLISECONDS.toNanos(BEAT_MS / 10));
      sendable[0] = m.stillOwns(all);
      sleepUntil(started + TimeUnit.MILLISECONDS.toNanos(BEAT_MS * 8 / 10));
      assertThat(beat.isAlive()).as("the heartbeat waits for the test's row locks").isTrue();
      sendable[1] = m.stillOwns(all);
      blocker.rollback();
      beat.join(10_000);
      assertThat(beat.isAlive()).isFalse();
    }
    sendable[2] = m.stillOwns(all);
    return sendable;
  }

  private static void sleepUntil(long nanos) throws InterruptedException {
    long left = nanos - System.nanoTime();
    if (left > 0) {
      TimeUnit.NANOSECONDS.sleep(left);
    }
  }

  @Test
  void aHeartbeatSlowedAfterItsMemberRowDoesNotPauseSendsWhileTheLeasesStayValid()
      throws Exception {
    LeaseManager m = manager("slow-renewal~1");
    boolean[] sendable =
        sendableDuringABlockedHeartbeat(
            m, "SELECT partition_no FROM outbox_relay_lease FOR UPDATE");
    assertThat(sendable[0]).as("sendable 0.1 intervals into the heartbeat").isTrue();
    assertThat(sendable[1])
        .as("sendable 0.8 intervals into a heartbeat that wrote its member row and waits to renew")
        .isTrue();
    assertThat(sendable[2]).as("sendable after it").isTrue();
  }

  @Test
  void aHeartbeatThatCannotWriteItsMemberRowStopsSendsOnceOthersMayTakeOver() throws Exception {
    LeaseManager m = manager("slow-member~1");
    boolean[] sendable =
        sendableDuringABlockedHeartbeat(m, "SELECT member_id FROM outbox_relay_member FOR UPDATE");
    assertThat(sendable[0]).as("sendable 1.1 intervals after the last member row").isTrue();
    assertThat(sendable[1])
        .as("sendable 1.8 intervals after the last member row (others may take over at 1.5)")
        .isFalse();
    assertThat(sendable[2]).as("sendable once the heartbeat wrote it").isTrue();
  }

  /**
   * After a stall longer than 1.5 heartbeats (a GC pause), others may have found this instance dead
   * and taken its partitions: the heartbeat that follows must not trust the old leases again on
   * writing its member row, only once it has read them back.
   */
  @Test
  void aHeartbeatAfterAStallTrustsNothingUntilItHasReadTheLeasesBack() throws Exception {
    LeaseManager m = manager("stalled~1");
    boolean[] sendable =
        sendableDuringABlockedHeartbeat(
            m, "SELECT partition_no FROM outbox_relay_lease FOR UPDATE", BEAT_MS * 17 / 10);
    assertThat(sendable[0])
        .as("sendable 0.1 intervals into the heartbeat after a 1.7-interval stall")
        .isFalse();
    assertThat(sendable[1]).as("sendable 0.8 intervals into it").isFalse();
    assertThat(sendable[2]).as("sendable once it read the leases back").isTrue();
  }
}
