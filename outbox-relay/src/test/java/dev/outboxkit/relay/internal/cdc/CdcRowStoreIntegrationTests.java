package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.JdbcParkedEvents;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;
import org.slf4j.LoggerFactory;

/**
 * What the CDC relay's parking does to rows that are no longer pending, against a real PostgreSQL.
 * An engine re-reads the inserts after its last stored offset (a crash before the offset commit),
 * so it can decide again about an event whose row was published and kept ({@code keepPublishedFor})
 * or parked meanwhile: parking it then must leave that row as it is.
 */
@ServerTest
@Isolated
class CdcRowStoreIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private Outbox outbox;
  private JdbcTransactions tx;
  private CdcRowStore store;
  private OutboxDialect dialect;

  @BeforeEach
  void setUp() throws SQLException {
    dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    tx = JdbcTransactions.of(db.dataSource());
    outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    RelaySettings settings = CdcTestSettings.postgres(db.dataSource(), "row-store-test");
    store =
        new CdcRowStore(
            settings,
            new Jdbc(db.dataSource()),
            dialect,
            new OutboxRows(dialect, OutboxTable.DEFAULT),
            new RelayMetrics(new SimpleMeterRegistry(), "outbox_event"));
  }

  /**
   * Review of issue 19: {@code park} set {@code status = 'DEAD'} by id whatever the row's status,
   * so a re-read of a published row that failed this time turned it into a parked event, and a
   * replay would have published it a second time.
   */
  @Test
  void parkingARePublishedRowLeavesItPublished() throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    long seq = seqOf(event);
    execute("UPDATE outbox_event SET status = 'PUBLISHED' WHERE seq = " + seq);

    store.park(new PendingEvent(seq, event, 0, null), "refused on a re-read", 1);

    assertThat(statuses()).as("the published row, and no parked copy").containsExactly("PUBLISHED");
  }

  /** The same for a row parked before: it keeps its first error, and no second row appears. */
  @Test
  void parkingAnAlreadyParkedRowAddsNothing() throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    long seq = seqOf(event);
    execute("UPDATE outbox_event SET status = 'DEAD', last_error = 'first' WHERE seq = " + seq);

    store.park(new PendingEvent(seq, event, 0, null), "second", 1);

    assertThat(statuses()).containsExactly("DEAD");
    assertThat(lastError(seq)).isEqualTo("first");
  }

  /**
   * Issue 19, a stale outcome on a new incarnation of a row: the engine parked event E (its row
   * DEAD); an operator replayed it, which deletes the parked row and inserts a pending copy with
   * the same id and a new {@code seq}; then the engine restarted (or the standby took over) from an
   * offset stored before E's insert, read that old insert again and was refused again. Its park of
   * the old row must not park the copy: the copy is decided on its own insert. {@code park} found
   * the row by id alone and parked the copy, which then stayed {@code DEAD} even when its own send
   * was acknowledged (the delete of published rows takes only pending ones): listed as parked and
   * counted in the parked gauges though published, and a second replay would publish it again.
   */
  @Test
  void parkingAReReadOfAReplayedEventsOldRowLeavesTheReplayedCopyPending() throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    long oldSeq = seqOf(event);
    store.park(new PendingEvent(oldSeq, event, 0, null), "too large", 1);
    int replayed =
        new JdbcParkedEvents(
                new Jdbc(db.dataSource()),
                dialect,
                OutboxTable.DEFAULT,
                () -> {},
                java.time.Clock.systemUTC())
            .replay(List.of(event.id()));
    assertThat(replayed).isEqualTo(1);
    long copySeq = seqOf(event);
    assertThat(copySeq).isGreaterThan(oldSeq);

    store.park(new PendingEvent(oldSeq, event, 0, null), "refused on a re-read of the old row", 1);

    assertThat(statuses()).as("the replayed copy, and no parked row").containsExactly("PENDING");
    assertThat(lastError(copySeq)).as("the copy's last error").isNull();
  }

  /**
   * Review6, the same stale decision one step later: the engine parked E, an operator replayed it
   * (old row deleted, a pending copy with a new {@code seq}), and the copy was read, acknowledged
   * and its row deleted as published, before the offsets covering E's old insert were stored (the
   * offsets live in Kafka, or the database has no statement that stores them with the delete: the
   * delete goes first). The engine restarts from the older offset, re-reads E's old insert and is
   * refused again. {@code park} finds no row by id and {@code seq}, finds no row with E's id either
   * (the copy is gone, published), takes the old row for one "its writer deleted" and inserts a
   * {@code DEAD} copy: E, which was published, is listed and counted as parked, and replaying it
   * publishes it again.
   */
  @Test
  void parkingAReReadOfAReplayedEventsOldRowAfterItsCopyWasPublishedAddsNoParkedRow()
      throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    long oldSeq = seqOf(event);
    store.park(new PendingEvent(oldSeq, event, 0, null), "too large", 1);
    int replayed =
        new JdbcParkedEvents(
                new Jdbc(db.dataSource()),
                dialect,
                OutboxTable.DEFAULT,
                () -> {},
                java.time.Clock.systemUTC())
            .replay(List.of(event.id()));
    assertThat(replayed).isEqualTo(1);
    long copySeq = seqOf(event);
    store.markPublished(List.of(copySeq)); // the copy's own insert, acknowledged: deleted

    store.park(new PendingEvent(oldSeq, event, 0, null), "refused on a re-read of the old row", 1);

    assertThat(statuses()).as("E was published by its replayed copy: no parked row").isEmpty();
  }

  /**
   * The guard of the fix above: a replay proves that an event was replaced only when its audit
   * record says it replaced every event it names. A replay that named E before E was ever parked
   * (its writer deleted the row in the same transaction, so nothing was there to replace: count 0)
   * proves nothing, and a refusal of E's insert must still park E from the change, or E would be
   * neither published nor parked.
   */
  @Test
  void aWriterDeletedEventNamedByAReplayThatReplacedNothingIsStillParked() throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    long seq = seqOf(event);
    execute("DELETE FROM outbox_event WHERE seq = " + seq);
    int replayed =
        new JdbcParkedEvents(
                new Jdbc(db.dataSource()),
                dialect,
                OutboxTable.DEFAULT,
                () -> {},
                java.time.Clock.systemUTC())
            .replay(List.of(event.id(), java.util.UUID.randomUUID()));
    assertThat(replayed).isZero();

    store.park(new PendingEvent(seq, event, 0, null), "refused", 3);

    assertThat(statuses()).as("E parked from its change").containsExactly("DEAD");
  }

  /**
   * The same for a replay of several events of which only some were still parked (another replay or
   * a purge came first): the record names E but replaced fewer events than it names, so it does not
   * prove that E was among them, and E is parked (a possible duplicate, never a loss).
   */
  @Test
  void aReplayThatReplacedFewerEventsThanItNamesDoesNotProveAnyOfThemReplayed() throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "a", "E", "0")));
    OutboxEvent other = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "b", "E", "0")));
    long seq = seqOf(event);
    store.park(new PendingEvent(seqOf(other), other, 0, null), "too large", 1);
    execute("DELETE FROM outbox_event WHERE seq = " + seq);
    int replayed =
        new JdbcParkedEvents(
                new Jdbc(db.dataSource()),
                dialect,
                OutboxTable.DEFAULT,
                () -> {},
                java.time.Clock.systemUTC())
            .replay(List.of(event.id(), other.id()));
    assertThat(replayed).isEqualTo(1);

    store.park(new PendingEvent(seq, event, 0, null), "refused", 3);

    assertThat(statuses())
        .as("other's replayed copy, then E parked")
        .containsExactly("PENDING", "DEAD");
  }

  /** A pending row is parked in place; a row its writer deleted is parked as a copy. */
  @Test
  void aPendingRowIsParkedAndADeletedOneIsParkedAsACopy() throws Exception {
    OutboxEvent kept = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "a", "E", "0")));
    OutboxEvent gone = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "b", "E", "0")));
    long keptSeq = seqOf(kept);
    long goneSeq = seqOf(gone);
    execute("DELETE FROM outbox_event WHERE seq = " + goneSeq);

    store.park(new PendingEvent(keptSeq, kept, 0, null), "bad", 3);
    store.park(new PendingEvent(goneSeq, gone, 0, null), "bad", 3);

    assertThat(statuses()).containsExactly("DEAD", "DEAD");
  }

  /**
   * Review6 (2b): an engine's outcome that arrives late (its send was in flight while its lease
   * lapsed and another instance took over, counted on from the row and recorded more attempts)
   * wrote {@code attempts} from its own count, lowering the other instance's: the event was then
   * tried more than {@code retry.max-attempts} times before it was parked. A recorded count never
   * goes down now; the late failure's error and retry time are still recorded.
   */
  @Test
  void aLateRetryRecordNeverLowersTheAttemptsAnotherInstanceRecorded() throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    long seq = seqOf(event);
    java.time.Instant later = java.time.Instant.now().plusSeconds(60);
    // The new owner read 1 attempt from the row and failed twice more.
    store.recordRetries(
        List.of(
            new dev.outboxkit.relay.internal.delivery.DeliveryOutcome.Failure(
                new PendingEvent(seq, event, 2, null), 3, later, "the new owner's failure")));

    // The deposed engine's send, started at its own count of 1, fails late.
    store.recordRetries(
        List.of(
            new dev.outboxkit.relay.internal.delivery.DeliveryOutcome.Failure(
                new PendingEvent(seq, event, 1, null), 2, later, "the late failure")));

    assertThat(attempts(seq)).as("the attempts recorded on E's row").isEqualTo(3);
    assertThat(lastError(seq)).isEqualTo("the late failure");
  }

  /**
   * The same for a park: an engine deposed while its send was in flight parks the event late, after
   * the new owner counted on from the row and recorded more attempts. {@code park} wrote its own
   * count outright and lowered the recorded one (cosmetic: the event is parked either way, but the
   * parked row then understates how often it was tried). The row is parked with the late error and
   * keeps the higher count.
   */
  @Test
  void aLateParkNeverLowersTheAttemptsAnotherInstanceRecorded() throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    long seq = seqOf(event);
    java.time.Instant later = java.time.Instant.now().plusSeconds(60);
    // The new owner read 2 attempts from the row and failed three more times.
    store.recordRetries(
        List.of(
            new dev.outboxkit.relay.internal.delivery.DeliveryOutcome.Failure(
                new PendingEvent(seq, event, 4, null), 5, later, "the new owner's failure")));

    // The deposed engine's last send, its third attempt, fails late and it parks the event.
    store.park(new PendingEvent(seq, event, 2, null), "the late failure", 3);

    assertThat(statuses()).containsExactly("DEAD");
    assertThat(attempts(seq)).as("the attempts recorded on E's parked row").isEqualTo(5);
    assertThat(lastError(seq)).isEqualTo("the late failure");
  }

  /**
   * Issue 20, finding 1: a DataSource user refused {@code DELETE} (the shipped CDC role before it
   * was split) left every published row in the table, logged at DEBUG only, so nobody saw the table
   * grow. The refusal is now a WARN naming the privilege and counted in {@code
   * outbox.relay.cleanup.failures}.
   */
  @Test
  void aRefusedDeleteOfPublishedRowsIsLoggedAtWarnAndCounted() throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    long seq = seqOf(event);
    String user = "okt_rowstore_nodelete";
    execute("DROP ROLE IF EXISTS " + user);
    execute("CREATE ROLE " + user + " LOGIN PASSWORD 'Row-store-pw-1'");
    execute(
        "DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO "
            + user
            + "', current_schema()); END $$");
    execute("GRANT SELECT, INSERT, UPDATE ON outbox_event TO " + user);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(
        db.jdbcUrl().replaceAll("([?&])(user|password)=[^&]*&?", "$1").replaceAll("[?&]$", ""));
    config.setUsername(user);
    config.setPassword("Row-store-pw-1");
    config.setMaximumPoolSize(1);
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    Logger logger = (Logger) LoggerFactory.getLogger(CdcRowStore.class);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    logger.addAppender(appender);
    try (HikariDataSource refused = new HikariDataSource(config)) {
      CdcRowStore refusedStore =
          new CdcRowStore(
              CdcTestSettings.postgres(refused, "row-store-test"),
              new Jdbc(refused),
              dialect,
              new OutboxRows(dialect, OutboxTable.DEFAULT),
              new RelayMetrics(meters, "outbox_event"));

      refusedStore.markPublished(List.of(seq));
    } finally {
      logger.detachAppender(appender);
      execute("DROP OWNED BY " + user);
      execute("DROP ROLE " + user);
    }

    assertThat(statuses()).as("the row stays").containsExactly("PENDING");
    assertThat(meters.get("outbox.relay.cleanup.failures").counter().count()).isEqualTo(1.0);
    assertThat(appender.list)
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.getLevel()).isEqualTo(Level.WARN);
              assertThat(e.getFormattedMessage())
                  .contains("Could not delete 1 published row(s)")
                  .contains("permission denied")
                  .contains("needs DELETE");
            });
  }

  private long seqOf(OutboxEvent event) throws SQLException {
    return CdcBatchFixture.seqOf(db.dataSource(), event);
  }

  private int attempts(long seq) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT attempts FROM outbox_event WHERE seq = " + seq)) {
      assertThat(rs.next()).isTrue();
      return rs.getInt(1);
    }
  }

  private String lastError(long seq) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT last_error FROM outbox_event WHERE seq = " + seq)) {
      assertThat(rs.next()).isTrue();
      return rs.getString(1);
    }
  }

  private java.util.List<String> statuses() throws SQLException {
    java.util.List<String> statuses = new java.util.ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT status FROM outbox_event ORDER BY seq")) {
      while (rs.next()) {
        statuses.add(rs.getString(1));
      }
    }
    return statuses;
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
