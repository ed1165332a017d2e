package dev.outboxkit.test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Kill -9 and restart of a dedicated server: same port, same data, a new process. */
@ServerTest
class RestartableDatabaseServerIntegrationTests {

  private static final Logger log =
      LoggerFactory.getLogger(RestartableDatabaseServerIntegrationTests.class);

  @ParameterizedTest
  @EnumSource(
      value = DatabaseKind.class,
      names = {"POSTGRESQL", "MARIADB", "MYSQL"})
  void aKilledServerComesBackOnTheSamePortWithItsCommittedData(DatabaseKind kind)
      throws SQLException {
    try (RestartableDatabaseServer server = RestartableDatabaseServer.start(kind);
        TestDatabase db = server.createDatabase("restart_check")) {
      int port = server.port();
      long pid = server.pid();
      execute(db, "CREATE TABLE kept (id INT PRIMARY KEY)");
      execute(db, "INSERT INTO kept VALUES (1)");
      execute(db, "INSERT INTO kept VALUES (2)");
      Connection open = db.openConnection();
      // Commits that returned just before the crash survive it: 300 in a row, then SIGKILL at
      // once (with PostgreSQL's synchronous_commit=off the last few would be lost).
      try (Statement s = open.createStatement()) {
        for (int id = 100; id < 400; id++) {
          s.execute("INSERT INTO kept VALUES (" + id + ")");
        }
      }

      server.kill();
      assertThat(server.running()).isFalse();
      assertThat(ProcessHandle.of(pid).filter(p -> ServerProcess.alive(p.pid()))).isEmpty();
      // A connection open across the crash is broken, not hanging; a new one is refused.
      assertThatThrownBy(() -> query(open, "SELECT COUNT(*) FROM kept"))
          .isInstanceOf(SQLException.class);
      open.close();
      assertThatThrownBy(db::openConnection).isInstanceOf(SQLException.class);

      Duration ready = server.restart();
      log.info("{} restarted in {} ms", server, ready.toMillis());
      log.debug("Its output: {}", server.restartLog());
      assertThat(server.running()).isTrue();
      assertThat(server.port()).isEqualTo(port);
      assertThat(server.pid()).isNotEqualTo(pid);
      try (Connection c = db.openConnection()) {
        assertThat(query(c, "SELECT COUNT(*) FROM kept")).isEqualTo(302);
      }
      execute(db, "INSERT INTO kept VALUES (3)");

      // And once more: a restarted server can be crashed and restarted again.
      server.kill();
      server.restart();
      try (Connection c = db.openConnection()) {
        assertThat(query(c, "SELECT COUNT(*) FROM kept")).isEqualTo(303);
      }
    }
  }

  private static void execute(TestDatabase db, String sql) throws SQLException {
    try (Connection c = db.openConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static int query(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
