package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Review15 of bc4054f ({@link Jdbc#inTransaction} restoring auto-commit after the work). */
@ServerTest
class JdbcReview15IntegrationTests {

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
   */
  @Test
  void aCommittedTransactionIsNotReportedFailedWhenTheSessionEndsAfterTheCommit() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    for (int i = 0; i < 3; i++) {
      String payload = "{\"n\":" + i + "}";
      tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", payload)));
    }
    execute("UPDATE outbox_event SET status = 'DEAD', last_error = 'parked'");
    List<UUID> ids = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT id FROM outbox_event ORDER BY seq")) {
      while (rs.next()) {
        ids.add(dialect.getUuid(rs, "id"));
      }
    }
    AtomicBoolean armed = new AtomicBoolean(true);
    java.util.concurrent.atomic.AtomicInteger wakeUps =
        new java.util.concurrent.atomic.AtomicInteger();
    ParkedEvents parked =
        new JdbcParkedEvents(
            new Jdbc(killedAfterFirstCommit(db.dataSource(), armed)),
            dialect,
            OutboxTable.DEFAULT,
            wakeUps::incrementAndGet,
            Clock.systemUTC());
    Throwable thrown = null;
    int replayed = -1;
    try {
      replayed = parked.replay(ids);
    } catch (RuntimeException e) {
      thrown = e;
    }
    System.out.println("[review15] replayed " + replayed + ", thrown " + thrown);
    System.out.println(
        "[review15] audit outcomes: "
            + texts("SELECT outcome FROM outbox_audit WHERE operation = 'REPLAY' ORDER BY id"));
    assertThat(armed).as("the session was ended right after the commit").isFalse();
    assertThat(count("SELECT COUNT(*) FROM outbox_event WHERE status = 'PENDING'"))
        .as("the replay committed its 3 copies")
        .isEqualTo(3);
    assertThat(thrown)
        .as("what the caller of a committed replay gets (replayed %d)", replayed)
        .isNull();
    assertThat(replayed).isEqualTo(3);
    assertThat(texts("SELECT outcome FROM outbox_audit WHERE operation = 'REPLAY' ORDER BY id"))
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

  private static List<String> texts(String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  private static int count(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
