package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.DatabaseKind;
import dev.outboxkit.test.RestartableDatabaseServer;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The read floor after a crash of PostgreSQL that does not restart the postmaster, on a server of
 * its own.
 */
@ServerTest
// Alone, as every class that freezes or kills a server's processes (junit-platform.properties):
// it stops, then kills, the WAL writer and background writer of its own server.
@Isolated
class ReadFloorCrashIntegrationTests {

  /**
   * d12a72b's comment: "a crash restarts the server, and the floor is dropped anyway". A crash of
   * one backend (or of an auxiliary process: the OOM killer, a segfault) does not restart the
   * postmaster: it kills every backend, replays the WAL and accepts connections again, and
   * pg_postmaster_start_time() stays the same, so the floor (its "server" check) survives whenever
   * the relay gets a working connection without an error (HikariCP validates a connection idle for
   * more than 500 ms and replaces a dead one silently). With synchronous_commit=off on the server
   * (documented as unsupported for the outbox database: it loses acknowledged commits), the crash
   * also rolls the seq sequence back below the floor: the events committed AFTER the crash,
   * durably, take seq values below it and are never read while the relay runs (without the floor
   * they would be). The WAL writer and background writer are stopped (SIGSTOP) to make the window
   * of unwritten WAL deterministic; in production it is up to 3 x wal_writer_delay of commits.
   *
   * <p>Review13 of the read floor after review12's fixes (8f1f2c5) and the asynchronous commit of
   * the read that takes the bound (d12a72b) found it.
   */
  @Test
  void theFloorIsDroppedAfterACrashOfTheServerWithoutARestartOfThePostmaster() throws Exception {
    try (RestartableDatabaseServer server =
            RestartableDatabaseServer.start(DatabaseKind.POSTGRESQL);
        TestDatabase db = server.createDatabase("floorcrash")) {
      OutboxDialect dialect = RelayTables.create(db.dataSource());
      OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
      ReadFloor floor = new ReadFloor(() -> true);
      // The server's setting (a database's: the test server has synchronous_commit=on on its
      // command line, which ALTER SYSTEM does not override).
      execute(
          db,
          "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off',"
              + " current_database()); END $$");
      assertThat(text(db, "SHOW synchronous_commit")).isEqualTo("off");

      for (int i = 0; i < 5; i++) {
        insert(db, "warm" + i, false);
      }
      for (int round = 0; round < 6; round++) {
        readAndPublish(db, rows, floor);
      }
      execute(db, "CHECKPOINT"); // everything so far is on disk
      String started = text(db, "SELECT CAST(pg_postmaster_start_time() AS text)");
      long walWriter = pidOf(db, "walwriter");
      long bgWriter = pidOf(db, "background writer");
      signal("-STOP", walWriter);
      signal("-STOP", bgWriter);
      try {
        // 40 events committed (asynchronously) and published while no WAL reaches the file: the
        // sequence logs a new value (32 ahead) on the way, also in memory only.
        for (int i = 0; i < 40; i++) {
          insert(db, "lost" + i, false);
        }
        for (int round = 0; round < 6; round++) {
          readAndPublish(db, rows, floor);
        }
      } finally {
        signal("-KILL", walWriter);
        signal("-KILL", bgWriter);
      }
      long floorBefore = floor.floor();
      awaitRecovered(db);
      String startedAfter = text(db, "SELECT CAST(pg_postmaster_start_time() AS text)");

      insert(db, "after", true); // committed synchronously: durable, acknowledged
      long seqAfter = Long.parseLong(text(db, "SELECT CAST(max(seq) AS text) FROM outbox_event"));
      List<String> read = new ArrayList<>();
      for (int round = 0; round < 3; round++) {
        read.addAll(readAndPublish(db, rows, floor));
      }
      System.out.println(
          "[review13] start time before the crash "
              + started
              + ", after "
              + startedAfter
              + "; floor before "
              + floorBefore
              + ", after "
              + floor.floor()
              + "; the new row's seq "
              + seqAfter
              + "; read after the crash "
              + read);
      assertThat(read)
          .as("the durable event appended after a crash (same start time)")
          .contains("after");
    }
  }

  private static List<String> readAndPublish(TestDatabase db, OutboxRows rows, ReadFloor floor)
      throws SQLException {
    // A new connection each time: what a pool hands out once it has replaced a dead one.
    try (Connection c = db.openConnection()) {
      return FloorReads.readAndPublish(c, rows, floor);
    }
  }

  private static void insert(TestDatabase db, String payload, boolean synchronous)
      throws SQLException {
    try (Connection c = db.openConnection()) {
      if (synchronous) {
        try (Statement s = c.createStatement()) {
          s.execute("SET synchronous_commit = on");
        }
      }
      FloorReads.insert(c, "k", payload);
    }
  }

  private static long pidOf(TestDatabase db, String backendType) throws SQLException {
    return Long.parseLong(
        text(
            db,
            "SELECT CAST(pid AS text) FROM pg_stat_activity WHERE backend_type = '"
                + backendType
                + "'"));
  }

  private static void signal(String signal, long pid) throws Exception {
    Process kill = new ProcessBuilder("kill", signal, Long.toString(pid)).inheritIO().start();
    assertThat(kill.waitFor()).as("kill %s %s", signal, pid).isZero();
  }

  private static void awaitRecovered(TestDatabase db) throws InterruptedException {
    long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
    Thread.sleep(500);
    while (true) {
      try {
        text(db, "SELECT 'up'");
        return;
      } catch (SQLException e) {
        if (System.nanoTime() > until) {
          throw new IllegalStateException("PostgreSQL did not recover", e);
        }
        Thread.sleep(100);
      }
    }
  }

  private static String text(TestDatabase db, String sql) throws SQLException {
    try (Connection c = db.openConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static void execute(TestDatabase db, String sql) throws SQLException {
    try (Connection c = db.openConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
