package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link Jdbc#inTransaction} when the server ends the session during the work, on a real
 * PostgreSQL: the caller gets the work's own failure, not the one of restoring the connection.
 */
@ServerTest
class JdbcSessionEndsInWorkIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  /**
   * {@code inTransaction} restores the connection's auto-commit mode in a {@code finally}; on a
   * connection the failure closed (the server ended the session: a failover, {@code
   * pg_terminate_backend}, an idle-session timeout), {@code setAutoCommit} throws "This connection
   * has been closed." and that exception replaces the read's own failure, which is neither its
   * cause nor suppressed. Every polling read goes this way since c3314cc, so the relay's log says
   * "connection has been closed" where it used to say why (SQL state 57P01, the server's message).
   *
   * <p>Review14 of c3314cc (the polling read now runs in {@code Jdbc#inTransaction} on PostgreSQL)
   * found it, written to fail on d420ffe.
   */
  @Test
  void theFailureOfTheWorkIsWhatTheCallerGetsWhenTheConnectionDiedWithIt() {
    Jdbc jdbc = new Jdbc(db.dataSource());
    Throwable thrown =
        org.assertj.core.api.Assertions.catchThrowable(
            () ->
                jdbc.inTransaction(
                    c -> {
                      long pid;
                      try (Statement s = c.createStatement();
                          ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
                        rs.next();
                        pid = rs.getLong(1);
                      }
                      try (Connection other = db.database().openConnection();
                          Statement s = other.createStatement()) {
                        s.execute("SELECT pg_terminate_backend(" + pid + ")");
                      }
                      try (Statement s = c.createStatement()) {
                        s.execute("SELECT 1");
                      }
                      return null;
                    }));
    System.out.println("[review14] inTransaction threw " + thrown);
    assertThat(thrown).isInstanceOf(SQLException.class);
    assertThat(statesIn(thrown))
        .as("the SQL states the caller can see (thrown, causes, suppressed)")
        .anySatisfy(state -> assertThat(state).isIn("57P01", "08006"));
  }

  private static java.util.List<String> statesIn(Throwable thrown) {
    java.util.List<String> states = new java.util.ArrayList<>();
    java.util.ArrayDeque<Throwable> todo = new java.util.ArrayDeque<>();
    java.util.Set<Throwable> seen =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    todo.add(thrown);
    while (!todo.isEmpty()) {
      Throwable t = todo.poll();
      if (!seen.add(t)) {
        continue;
      }
      if (t instanceof SQLException e && e.getSQLState() != null) {
        states.add(e.getSQLState());
      }
      if (t.getCause() != null) {
        todo.add(t.getCause());
      }
      todo.addAll(java.util.List.of(t.getSuppressed()));
    }
    return states;
  }
}
