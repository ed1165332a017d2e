package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.internal.SessionLock;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Fast takeover judges a peer dead when its heartbeat is late and its session lock is free. An
 * instance that holds no session lock (session locks turned off for it, a database or pooler that
 * keeps none, or a relay of a version before the member row said so) has a free lock while it is
 * alive: a late heartbeat (a GC pause, a slow database) must not hand its partitions to another
 * instance before its leases expire, or two instances would publish one partition at once. Only a
 * member whose row says it holds its lock may be taken over at once. Heartbeats are driven by the
 * test; the lease TTL is 30 s.
 */
@ServerTest
@Isolated
class LeaseTakeoverOfLocklessOwnersIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final Duration BEAT = Duration.ofMillis(300);

  private OutboxDialect dialect;
  private final Set<SessionLock> locks = new HashSet<>();

  @BeforeEach
  void createTables() throws SQLException {
    dialect = RelayTables.create(db.dataSource());
    TestLeaseManagers.clearLeaseTables(db.dataSource());
  }

  @AfterEach
  void releaseLocks() {
    locks.forEach(SessionLock::close);
  }

  private SessionLock lock(String name) {
    SessionLock lock = SessionLock.of(db.dataSource(), dialect, name);
    assertThat(lock).isNotNull();
    locks.add(lock);
    return lock;
  }

  /** Waits two heartbeat intervals: the owner's next heartbeat is late, as in a GC pause. */
  private static void missTwoHeartbeats() throws InterruptedException {
    TimeUnit.MILLISECONDS.sleep(BEAT.toMillis() * 2);
  }

  @Test
  void anOwnerWithoutASessionLockIsNotTakenOverWhenItsHeartbeatIsLate() throws Exception {
    LeaseManager lockless =
        TestLeaseManagers.create(db.dataSource(), dialect, "lockless~1", BEAT, null);
    lockless.heartbeat();
    assertThat(lockless.owned()).hasSize(16);

    missTwoHeartbeats();
    LeaseManager other =
        TestLeaseManagers.create(db.dataSource(), dialect, "other~1", BEAT, lock("other~1"));
    other.heartbeat();
    other.heartbeat();

    Set<Integer> both = new HashSet<>(lockless.owned());
    both.retainAll(other.owned());
    assertThat(lockless.owned())
        .as("the late instance's leases are valid for 30 s by its own clock")
        .hasSize(16);
    assertThat(both).as("partitions two instances would publish at once").isEmpty();
    assertThat(other.owned()).isEmpty();
  }

  /**
   * Its lock's session ends while the process lives on (the server killed the connection) and it
   * cannot open a new one (its direct session URL is unreachable): its next heartbeat, through the
   * pool, says it holds no lock, and a late heartbeat after that must not hand its partitions over.
   */
  @Test
  void anOwnerThatLostItsLockSessionAndCannotReopenItIsNotTakenOverEarly() throws Exception {
    AtomicInteger opened = new AtomicInteger();
    DataSource oneSession =
        (DataSource)
            Proxy.newProxyInstance(
                DataSource.class.getClassLoader(),
                new Class<?>[] {DataSource.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("getConnection") && opened.getAndIncrement() > 0) {
                    throw new SQLException("session host unreachable (test)");
                  }
                  try {
                    return method.invoke(db.dataSource(), args);
                  } catch (InvocationTargetException e) {
                    throw e.getCause();
                  }
                });
    SessionLock ownLock = SessionLock.of(oneSession, dialect, "unlocked~1");
    assertThat(ownLock).isNotNull();
    locks.add(ownLock);
    LeaseManager owner =
        TestLeaseManagers.create(db.dataSource(), dialect, "unlocked~1", BEAT, ownLock);
    owner.heartbeat();
    assertThat(opened).hasValue(1);
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "SELECT pg_terminate_backend(pid) FROM pg_locks"
              + " WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()");
    }
    owner.heartbeat(); // finds its session gone, cannot reopen it: advertises no lock
    assertThat(opened).hasValueGreaterThan(1);

    missTwoHeartbeats();
    LeaseManager other =
        TestLeaseManagers.create(db.dataSource(), dialect, "other~2", BEAT, lock("other~2"));
    other.heartbeat();
    other.heartbeat();

    assertThat(other.owned())
        .as("partitions taken from a live instance whose row says it holds no session lock")
        .isEmpty();
  }

  @Test
  void anOwnerThatHeldItsLockAndIsGoneIsTakenOverAtOnce() throws Exception {
    SessionLock crashedLock = lock("crashed~1");
    LeaseManager crashed =
        TestLeaseManagers.create(db.dataSource(), dialect, "crashed~1", BEAT, crashedLock);
    crashed.heartbeat();
    assertThat(crashed.owned()).hasSize(16);
    crashedLock.close(); // the process died: the server ended its session

    missTwoHeartbeats();
    LeaseManager successor =
        TestLeaseManagers.create(
            db.dataSource(), dialect, "successor~1", BEAT, lock("successor~1"));
    successor.heartbeat();

    assertThat(successor.owned()).as("taken over at once, not after the 30 s TTL").hasSize(16);
  }
}
