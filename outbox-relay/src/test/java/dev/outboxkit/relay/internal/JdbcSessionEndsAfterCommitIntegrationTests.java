package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link Jdbc#inTransaction} when the server ends the session right after the commit, on a real
 * MariaDB (whose driver, as MySQL's, sends a statement to restore auto-commit): a committed
 * transaction is not reported as failed.
 */
@ServerTest
class JdbcSessionEndsAfterCommitIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mariadb();

  /**
   * {@code inTransaction} commits, then restores the connection's auto-commit mode; a failure of
   * that restore is thrown although the work committed. MySQL's and MariaDB's drivers send {@code
   * set autocommit=1} to the server for it (pgjdbc does not), so a session that ends between the
   * COMMIT's answer and that statement (the server killed it, a failover, a network reset, {@code
   * wait_timeout}) turns a committed transaction into a failure: here a replay of parked events
   * whose copies and OK audit record committed is reported as "Could not replay parked events",
   * with a FAILED audit record next to the OK one, and the relay is not woken for the copies. The
   * commit's own answer was received: nothing is in doubt, and the pool discards a broken
   * connection (HikariCP resets the auto-commit mode of a connection it takes back anyway).
   *
   * <p>Review15 of bc4054f ({@code Jdbc#inTransaction} restoring auto-commit after the work) found
   * it.
   */
  @Test
  void aCommittedTransactionIsNotReportedFailedWhenTheSessionEndsAfterTheCommit() throws Exception {
    ParkedEventsFixture events = ParkedEventsFixture.on(db.dataSource());
    events.execute("DELETE FROM outbox_event");
    events.appendNumbered(3);
    events.parkAll();
    List<UUID> ids = events.ids("SELECT id FROM outbox_event ORDER BY seq");
    AtomicBoolean armed = new AtomicBoolean(true);
    AtomicInteger wakeUps = new AtomicInteger();
    ParkedEvents parked =
        events.parked(killedAfterFirstCommit(db.dataSource(), armed), wakeUps::incrementAndGet);
    Throwable thrown = null;
    int replayed = -1;
    try {
      replayed = parked.replay(ids);
    } catch (RuntimeException e) {
      thrown = e;
    }
    String outcomes = "SELECT outcome FROM outbox_audit WHERE operation = 'REPLAY' ORDER BY id";
    System.out.println("[review15] replayed " + replayed + ", thrown " + thrown);
    System.out.println("[review15] audit outcomes: " + events.texts(outcomes));
    assertThat(armed).as("the session was ended right after the commit").isFalse();
    assertThat(events.count("SELECT COUNT(*) FROM outbox_event WHERE status = 'PENDING'"))
        .as("the replay committed its 3 copies")
        .isEqualTo(3);
    assertThat(thrown)
        .as("what the caller of a committed replay gets (replayed %d)", replayed)
        .isNull();
    assertThat(replayed).isEqualTo(3);
    assertThat(events.texts(outcomes))
        .as("the audit trail of the one replay, which committed")
        .containsExactly("OK");
    assertThat(wakeUps).as("the relay is woken for the copies").hasPositiveValue();
  }

  /**
   * {@code dataSource} whose connections, armed, end their own session on the server right after
   * their first successful commit (as a failover or a killed session would, between two
   * statements).
   */
  private static DataSource killedAfterFirstCommit(DataSource dataSource, AtomicBoolean armed) {
    return (DataSource)
        Proxy.newProxyInstance(
            DataSource.class.getClassLoader(),
            new Class<?>[] {DataSource.class},
            (proxy, method, args) -> {
              Object result = invoke(dataSource, method, args);
              if (method.getName().equals("getConnection")) {
                Connection real = (Connection) result;
                return Proxy.newProxyInstance(
                    Connection.class.getClassLoader(),
                    new Class<?>[] {Connection.class},
                    (p, m, a) -> {
                      if (m.getName().equals("commit") && armed.get()) {
                        long id;
                        try (Statement s = real.createStatement();
                            ResultSet rs = s.executeQuery("SELECT CONNECTION_ID()")) {
                          rs.next();
                          id = rs.getLong(1);
                        }
                        real.commit();
                        armed.set(false);
                        try (Connection other = db.database().openConnection();
                            Statement s = other.createStatement()) {
                          s.execute("KILL CONNECTION " + id);
                        }
                        return null;
                      }
                      return invoke(real, m, a);
                    });
              }
              return result;
            });
  }

  private static Object invoke(Object target, java.lang.reflect.Method method, Object[] args)
      throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
