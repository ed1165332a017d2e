package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.internal.dialect.RelaySql;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The read floor on a real PostgreSQL: the trigger of schema version 12 orders a transaction's id
 * before its rows' {@code seq}, and a read from the floor never passes a row that commits later.
 */
@ServerTest
class PostgresReadFloorIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final Set<Integer> ALL = Set.copyOf(IntStream.range(0, 16).boxed().toList());

  private OutboxDialect dialect;
  private JdbcTransactions tx;
  private Outbox outbox;
  private OutboxRows rows;

  @BeforeEach
  void setUp() throws Exception {
    dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    tx = JdbcTransactions.of(db.dataSource());
    outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
  }

  /**
   * What the floor's proof rests on: a statement-level BEFORE INSERT trigger runs before the
   * statement forms its first row (column defaults and the identity's nextval), so the
   * transaction's first write already has its id when the row takes its {@code seq}. Without the
   * trigger it has none yet (it gets one at the heap insert, after the {@code seq}), unless the
   * nextval itself writes the sequence's WAL record (every 32nd value, and the first after a
   * checkpoint), which also takes an id: each table's sequence is primed by a committed insert
   * first, and the case without the trigger needs only one of three tries to show it.
   */
  @Test
  void theStatementTriggerGivesTheTransactionItsIdBeforeTheRowTakesItsSeq() throws Exception {
    execute(
        "CREATE OR REPLACE FUNCTION floor_probe_had_xid() RETURNS boolean LANGUAGE sql AS"
            + " $$ SELECT pg_current_xact_id_if_assigned() IS NOT NULL $$");
    for (String table : List.of("floor_probe_plain", "floor_probe_triggered")) {
      execute("DROP TABLE IF EXISTS " + table);
      // had_xid before seq: evaluated before the row's nextval.
      execute(
          "CREATE TABLE "
              + table
              + " (had_xid BOOLEAN DEFAULT floor_probe_had_xid(), seq BIGINT GENERATED ALWAYS AS"
              + " IDENTITY, note TEXT)");
    }
    execute(
        "CREATE TRIGGER floor_probe_assign_xid BEFORE INSERT ON floor_probe_triggered"
            + " FOR EACH STATEMENT EXECUTE FUNCTION outboxkit_assign_xid()");

    List<Boolean> plain = new ArrayList<>();
    List<Boolean> triggered = new ArrayList<>();
    for (int attempt = 0; attempt < 3; attempt++) {
      plain.add(firstWriteHadXid("floor_probe_plain"));
      triggered.add(firstWriteHadXid("floor_probe_triggered"));
    }
    assertThat(plain).as("without the trigger").contains(false);
    assertThat(triggered).as("with the trigger").containsOnly(true);
    try (Connection c = db.dataSource().getConnection()) {
      assertThat(RelaySql.of(dialect).readFloorUnavailable(c, OutboxTable.DEFAULT)).isNull();
    }
  }

  private boolean firstWriteHadXid(String table) throws SQLException {
    execute("INSERT INTO " + table + " (note) VALUES (NULL)"); // primes the sequence's WAL
    try (Connection c = db.dataSource().getConnection()) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.execute("INSERT INTO " + table + " (note) VALUES ('a')");
        try (ResultSet rs =
            s.executeQuery("SELECT had_xid FROM " + table + " WHERE note IS NOT NULL")) {
          rs.next();
          boolean had = rs.getBoolean(1);
          c.rollback();
          return had;
        }
      }
    }
  }

  /**
   * The catalog check: a disabled trigger, a missing one and a sequence with a per-session cache
   * each turn the floor off, naming why.
   */
  @Test
  void theFloorIsOffWithoutAnEnabledTriggerOrWithACachedSequence() throws Exception {
    RelaySql sql = RelaySql.of(dialect);
    try (Connection c = db.dataSource().getConnection()) {
      assertThat(sql.readFloorUnavailable(c, OutboxTable.DEFAULT)).isNull();
      execute("ALTER TABLE outbox_event DISABLE TRIGGER outbox_event_assign_xid");
      assertThat(sql.readFloorUnavailable(c, OutboxTable.DEFAULT)).contains("is disabled");
      execute("ALTER TABLE outbox_event ENABLE ALWAYS TRIGGER outbox_event_assign_xid");
      execute("ALTER TABLE outbox_event ALTER COLUMN seq SET CACHE 20");
      assertThat(sql.readFloorUnavailable(c, OutboxTable.DEFAULT)).contains("CACHE 1");
      execute("ALTER TABLE outbox_event ALTER COLUMN seq SET CACHE 1");
      execute("DROP TRIGGER outbox_event_assign_xid ON outbox_event");
      assertThat(sql.readFloorUnavailable(c, OutboxTable.DEFAULT))
          .contains("V0_12__outboxkit_read_floor.sql");
    } finally {
      RelayTables.create(db.dataSource());
    }
    try (Connection c = db.dataSource().getConnection()) {
      assertThat(sql.readFloorUnavailable(c, OutboxTable.DEFAULT)).isNull();
    }
  }

  /**
   * A transaction that took its {@code seq} before rows that a read returned, and commits after the
   * read: the floor waits for it (its id is in the read's snapshot), so once it commits the next
   * read finds its row. With the floor raised past the read's rows at once, the row would lie below
   * the floor and never be read.
   */
  @Test
  void aRowThatCommitsAfterLaterRowsWereReadIsNotPassed() throws Exception {
    CountDownLatch inserted = new CountDownLatch(1);
    CountDownLatch commit = new CountDownLatch(1);
    CompletableFuture<Void> late =
        CompletableFuture.runAsync(
            () ->
                tx.execute(
                    c -> {
                      outbox.append(OutboxMessage.of("floor", "k1", "Late", "late"));
                      inserted.countDown();
                      await(commit);
                    }));
    assertThat(inserted.await(30, TimeUnit.SECONDS)).isTrue();
    ReadFloor floor = new ReadFloor(() -> true);
    List<String> read = new ArrayList<>();
    for (int round = 0; round < 5; round++) {
      int n = round;
      tx.execute(c -> outbox.append(OutboxMessage.of("floor", "k2", "Early", "e" + n)));
      read.addAll(readAndPublish(floor));
    }
    assertThat(read).containsExactly("e0", "e1", "e2", "e3", "e4");
    commit.countDown();
    late.get(30, TimeUnit.SECONDS);
    tx.execute(c -> outbox.append(OutboxMessage.of("floor", "k2", "Early", "e5")));
    assertThat(readAndPublish(floor)).as("the read after the late commit").contains("late");
    // Now the floor rises, once no transaction of the server (the other test classes' too) that was
    // in progress at a read is still open.
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (floor.floor() == ReadFloor.NONE && System.nanoTime() < until) {
      tx.execute(c -> outbox.append(OutboxMessage.of("floor", "k2", "Early", "more")));
      readAndPublish(floor);
    }
    assertThat(floor.floor()).isGreaterThan(ReadFloor.NONE);
  }

  /**
   * The trigger in place, on the outbox table itself: a row trigger that sleeps (it runs after the
   * row took its {@code seq}, before the heap insert that would give the transaction its id) holds
   * transaction A's insert of key "slow" open while B's rows commit and are read. With the
   * statement trigger, A has its id already, the floor waits for it, and A's row is read once A
   * commits. With the statement trigger disabled, A is in no read's in-progress list and the floor
   * passes its row: it is never read (unless the {@code nextval} happened to write the sequence's
   * WAL record, which takes an id too; the sleeping trigger records whether A had one).
   */
  @Test
  void withoutTheTriggerAnInsertSlowerThanItsSeqIsPassed() throws Exception {
    execute(
        "CREATE OR REPLACE FUNCTION floor_test_slow() RETURNS trigger LANGUAGE plpgsql AS $$"
            + " BEGIN IF NEW.aggregateid = 'slow' THEN NEW.last_error :="
            + " COALESCE(CAST(pg_current_xact_id_if_assigned() AS text), 'none');"
            + " PERFORM pg_sleep(3); END IF; RETURN NEW; END $$");
    execute(
        "CREATE TRIGGER floor_test_slow BEFORE INSERT ON outbox_event FOR EACH ROW"
            + " EXECUTE FUNCTION floor_test_slow()");
    try {
      assertThat(slowInsertIsRead()).as("with the statement trigger").startsWith("read");
      execute("ALTER TABLE outbox_event DISABLE TRIGGER outbox_event_assign_xid");
      String without = slowInsertIsRead();
      System.out.println("[read-floor] the slow insert without the statement trigger: " + without);
      if (!without.equals("had an id") && !without.endsWith("floor held elsewhere")) {
        assertThat(without).as("without the statement trigger").isEqualTo("passed");
      }
    } finally {
      execute("DROP TRIGGER floor_test_slow ON outbox_event");
      execute("ALTER TABLE outbox_event ENABLE ALWAYS TRIGGER outbox_event_assign_xid");
    }
  }

  /**
   * "read", "passed", "had an id" (without the trigger, when the nextval gave it one), or either of
   * the first two with "floor held elsewhere" when the floor never passed the row while it was
   * open.
   */
  private String slowInsertIsRead() throws Exception {
    execute("DELETE FROM outbox_event");
    ReadFloor floor = new ReadFloor(() -> true);
    CompletableFuture<Void> slow =
        CompletableFuture.runAsync(
            () ->
                tx.execute(c -> outbox.append(OutboxMessage.of("floor", "slow", "Slow", "slow"))));
    Thread.sleep(300); // A is in its row trigger: its seq taken, its row not inserted yet
    List<String> read = new ArrayList<>();
    tx.execute(c -> outbox.append(OutboxMessage.of("floor", "fast", "Fast", "first")));
    long first = seqOf("first");
    // Rounds while A sleeps, until the floor is above the first fast row (so above A's seq): a
    // transaction of another test class on the same server may keep it down for a while.
    for (int round = 0; !slow.isDone() && (round < 3 || floor.floor() <= first); round++) {
      int n = round;
      tx.execute(c -> outbox.append(OutboxMessage.of("floor", "fast", "Fast", "f" + n)));
      read.addAll(readAndPublish(floor));
    }
    boolean passedWhileOpen = floor.floor() > first;
    slow.get(30, TimeUnit.SECONDS);
    for (int round = 0; round < 3; round++) {
      read.addAll(readAndPublish(floor));
    }
    if (read.contains("slow")) {
      // A floor that never passed the first fast row while A was open (a transaction of another
      // test class held it) cannot have passed A's row: without the trigger, that run proves
      // nothing (review15; "floor held elsewhere" was only told apart when the row was not read).
      return passedWhileOpen ? "read" : "read, floor held elsewhere";
    }
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT last_error FROM outbox_event WHERE aggregateid = 'slow'")) {
      assertThat(rs.next()).as("the slow row is still pending").isTrue();
      if (!"none".equals(rs.getString(1))) {
        return "had an id";
      }
      return passedWhileOpen ? "passed" : "floor held elsewhere";
    }
  }

  /** A held key's row (left out of the read) keeps the floor at or below it. */
  @Test
  void aHeldKeysRowKeepsTheFloorAtIt() throws Exception {
    tx.execute(c -> outbox.append(OutboxMessage.of("floor", "held", "Held", "h0")));
    long heldSeq = seqOf("h0");
    ReadFloor floor = new ReadFloor(() -> true);
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    for (int round = 0;
        round < 5 || (floor.floor() == ReadFloor.NONE && System.nanoTime() < until);
        round++) {
      int n = round;
      tx.execute(c -> outbox.append(OutboxMessage.of("floor", "free", "Free", "f" + n)));
      try (Connection c = db.dataSource().getConnection()) {
        OutboxRows.Fetched fetched =
            rows.fetch(
                c,
                ALL,
                100,
                Map.of(partitionOf("held"), List.of("held")),
                Map.of(),
                Map.of(),
                Long.MAX_VALUE,
                floor);
        assertThat(fetched.rows()).extracting(e -> e.event().aggregateId()).containsOnly("free");
        rows.markPublished(c, fetched.rows().stream().map(PendingEvent::seq).toList(), null);
      }
    }
    assertThat(floor.floor()).isGreaterThan(ReadFloor.NONE).isLessThanOrEqualTo(heldSeq);
    assertThat(readAndPublish(floor)).containsExactly("h0");
  }

  private List<String> readAndPublish(ReadFloor floor) throws SQLException {
    try (Connection c = db.dataSource().getConnection()) {
      OutboxRows.Fetched fetched =
          rows.fetch(c, ALL, 100, Map.of(), Map.of(), Map.of(), Long.MAX_VALUE, floor);
      rows.markPublished(c, fetched.rows().stream().map(PendingEvent::seq).toList(), null);
      return fetched.rows().stream()
          .map(e -> new String(e.event().payload(), java.nio.charset.StandardCharsets.UTF_8))
          .map(p -> p.replace("\"", ""))
          .toList();
    }
  }

  private long seqOf(String payload) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT seq FROM outbox_event WHERE convert_from(payload, 'UTF8') LIKE ?")) {
      s.setString(1, "%" + payload + "%");
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private int partitionOf(String key) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement("SELECT partition_no FROM outbox_event WHERE aggregateid = ?")) {
      s.setString(1, key);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  static void await(CountDownLatch latch) {
    try {
      if (!latch.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("never told to go on");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
