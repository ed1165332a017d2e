package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The read floor's proof on a real PostgreSQL, with the trigger of schema version 12 in place and
 * enabled ALWAYS: writers the snapshot does not list, writers in savepoints, a restarted identity,
 * and every form of insert taking its transaction id before its {@code seq}.
 */
@ServerTest
class ReadFloorProofIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private OutboxRows rows;

  @BeforeEach
  void setUp() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
  }

  /**
   * A snapshot's xmax is the latest completed xid + 1, not the next xid: a transaction whose id is
   * at or above it is running but is NOT in the snapshot's in-progress list (pg_current_snapshot()
   * leaves it out). Writer A takes its id first (a business write before its append), writer B
   * takes a higher id at its append (the trigger) and its row the lower seq; A appends (higher seq)
   * and commits while B stays open. The read right after A's commit (a NOTIFY wakes the relay at
   * once) has xmax = A's id + 1, so B is in no candidate's list; the floor rises past B's row, and
   * once B commits its row is never read.
   *
   * <p>Review12 of the read floor found it (a case its proof did not cover).
   */
  @Test
  void aWriterWhoseIdIsAtOrAboveTheSnapshotsXmaxIsNotPassed() throws Exception {
    try (Connection a = db.dataSource().getConnection();
        Connection b = db.dataSource().getConnection()) {
      a.setAutoCommit(false);
      b.setAutoCommit(false);
      long xidA = xid(a); // A's business write: A has the lower id
      long xidB = xid(b);
      assertThat(xidB).isGreaterThan(xidA);
      FloorReads.insert(b, "k-late", "late"); // B: the lower seq
      FloorReads.insert(a, "k-early", "early"); // A: the higher seq
      long lateSeq = seqOf(b, "late");
      a.commit();

      ReadFloor floor = new ReadFloor(() -> true);
      List<String> read = new ArrayList<>(readAndPublish(floor)); // the read right after A's commit
      for (int round = 1; round <= 2; round++) {
        insertAlone("k-early", "e" + round);
        read.addAll(readAndPublish(floor));
      }
      System.out.println(
          "[review12] xidA="
              + xidA
              + " xidB="
              + xidB
              + " late seq="
              + lateSeq
              + " floor="
              + floor.floor());
      assertThat(read).contains("early").doesNotContain("late");
      b.commit();

      List<String> after = new ArrayList<>();
      for (int round = 0; round < 3; round++) {
        after.addAll(readAndPublish(floor));
        if (round == 0) {
          insertAlone("k-early", "e" + (round + 3));
        }
      }
      assertThat(after).as("the late writer's row, below the floor").contains("late");
    }
  }

  /**
   * The floor survives a restart of the identity on the same server (TRUNCATE ... RESTART IDENTITY,
   * ALTER SEQUENCE ... RESTART, setval lower): the read guards against seq values handed out again
   * only when the server's start time changes. New rows then take seq values below the floor and
   * are not read while the floor stands (a steady relay: until a lease change, a read error or a
   * restart).
   *
   * <p>Review12 of the read floor found it (a case its proof did not cover).
   */
  @Test
  void rowsAfterTheIdentityIsRestartedAreRead() throws Exception {
    assertRowsAreReadAfter("TRUNCATE outbox_event RESTART IDENTITY");
  }

  /**
   * The same for a restart of the identity alone.
   *
   * <p>The lead's addition to review12's test of the read floor.
   */
  @Test
  void rowsAfterTheIdentityColumnIsRestartedAreRead() throws Exception {
    assertRowsAreReadAfter("ALTER TABLE outbox_event ALTER COLUMN seq RESTART");
  }

  private void assertRowsAreReadAfter(String restart) throws Exception {
    ReadFloor floor = new ReadFloor(() -> true);
    long until = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
    for (int round = 0; round < 5 || (floor.floor() < 4 && System.nanoTime() < until); round++) {
      insertAlone("k", "r" + round);
      readAndPublish(floor);
    }
    long before = floor.floor();
    execute(restart);
    insertAlone("k", "after");
    List<String> read = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      read.addAll(readAndPublish(floor));
    }
    System.out.println(
        "[review12] floor before " + restart + ": " + before + ", after " + floor.floor());
    assertThat(read).as("the row appended after %s", restart).contains("after");
  }

  /**
   * Checked sound: a writer whose rows are inserted in savepoints (the rows' xmin is a subxact id,
   * the trigger gives the top-level id, which is what the snapshot lists), one savepoint rolled
   * back, the other kept; other transactions commit meanwhile (so the writer's id is below the
   * reads' xmax). The floor waits for the writer; the kept row is read once it commits.
   *
   * <p>Review12 of the read floor checked it.
   */
  @Test
  void aWriterInSavepointsIsNotPassed() throws Exception {
    try (Connection b = db.dataSource().getConnection()) {
      b.setAutoCommit(false);
      try (Statement s = b.createStatement()) {
        s.execute("SAVEPOINT one");
        FloorReads.insert(b, "k-sp", "rolled-back");
        s.execute("ROLLBACK TO SAVEPOINT one");
        s.execute("SAVEPOINT two");
        FloorReads.insert(b, "k-sp", "kept");
        s.execute("RELEASE SAVEPOINT two");
      }
      long kept = seqOf(b, "kept");
      ReadFloor floor = new ReadFloor(() -> true);
      List<String> read = new ArrayList<>();
      for (int round = 0; round < 6; round++) {
        insertAlone("k-other", "o" + round);
        read.addAll(readAndPublish(floor));
      }
      assertThat(read).doesNotContain("kept", "rolled-back");
      assertThat(floor.floor()).as("the floor while the writer is open").isLessThanOrEqualTo(kept);
      b.commit();
      for (int round = 0; round < 3; round++) {
        read.addAll(readAndPublish(floor));
      }
      assertThat(read).contains("kept").doesNotContain("rolled-back");
    }
  }

  /**
   * Checked sound: the statement trigger fires before the first row's defaults (the identity's
   * nextval) for every way to insert, not only INSERT ... VALUES: INSERT ... SELECT, a writable
   * CTE, ON CONFLICT DO NOTHING, and COPY FROM STDIN. A probe column before seq records whether the
   * transaction had its id when the row was formed (each first write of a fresh transaction).
   *
   * <p>Review12 of the read floor checked it.
   */
  @Test
  void everyFormOfInsertHasItsIdBeforeItsSeq() throws Exception {
    execute(
        "CREATE OR REPLACE FUNCTION review12_had_xid() RETURNS boolean LANGUAGE sql AS"
            + " $$ SELECT pg_current_xact_id_if_assigned() IS NOT NULL $$");
    execute("DROP TABLE IF EXISTS review12_probe");
    execute(
        "CREATE TABLE review12_probe (had_xid BOOLEAN DEFAULT review12_had_xid(), seq BIGINT"
            + " GENERATED ALWAYS AS IDENTITY, note TEXT UNIQUE)");
    execute(
        "CREATE TRIGGER review12_probe_assign_xid BEFORE INSERT ON review12_probe"
            + " FOR EACH STATEMENT EXECUTE FUNCTION outboxkit_assign_xid()");
    List<String> forms =
        List.of(
            "INSERT INTO review12_probe (note) SELECT 'select' || g FROM generate_series(1, 3) g",
            "WITH w AS (INSERT INTO review12_probe (note) VALUES ('cte') RETURNING seq)"
                + " SELECT count(*) FROM w",
            "INSERT INTO review12_probe (note) VALUES ('conflict') ON CONFLICT DO NOTHING");
    assertThat(formedWithoutId(forms)).as("with the trigger").isEmpty();
    execute("ALTER TABLE review12_probe DISABLE TRIGGER review12_probe_assign_xid");
    assertThat(formedWithoutId(forms)).as("without the trigger (the probe's control)").isNotEmpty();
    execute("DROP TABLE review12_probe");
  }

  private static List<String> formedWithoutId(List<String> forms) throws Exception {
    List<String> without = new ArrayList<>();
    for (int attempt = 0; attempt < 3; attempt++) {
      execute("DELETE FROM review12_probe");
      for (String form : forms) {
        try (Connection c = db.dataSource().getConnection();
            Statement s = c.createStatement()) {
          s.execute(form);
        }
      }
      try (Connection c = db.dataSource().getConnection()) {
        org.postgresql.copy.CopyManager copy =
            c.unwrap(org.postgresql.PGConnection.class).getCopyAPI();
        copy.copyIn(
            "COPY review12_probe (note) FROM STDIN", new java.io.StringReader("copy1\ncopy2\n"));
      }
      try (Connection c = db.dataSource().getConnection();
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT note FROM review12_probe WHERE NOT had_xid")) {
        while (rs.next()) {
          without.add(rs.getString(1));
        }
      }
    }
    return without;
  }

  private static long xid(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT CAST(pg_current_xact_id() AS text)")) {
      rs.next();
      return Long.parseLong(rs.getString(1));
    }
  }

  /** Inserts a row in a transaction of its own. */
  private static void insertAlone(String key, String payload) throws SQLException {
    try (Connection c = db.dataSource().getConnection()) {
      FloorReads.insert(c, key, payload);
    }
  }

  private static long seqOf(Connection c, String payload) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT seq FROM outbox_event WHERE convert_from(payload, 'UTF8') = ?")) {
      s.setString(1, payload);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private List<String> readAndPublish(ReadFloor floor) throws SQLException {
    try (Connection c = db.dataSource().getConnection()) {
      return FloorReads.readAndPublish(c, rows, floor);
    }
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
