package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxDefaults;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayInspection;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the relay's statements may do to parked ({@code DEAD}) rows, against a real PostgreSQL and
 * real concurrent transactions: an acknowledgement never deletes one, and a replay never brings
 * back one that a purge removed.
 */
@ServerTest
class ParkedRowsIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private OutboxDialect dialect;
  private Outbox outbox;
  private JdbcTransactions tx;

  @BeforeEach
  void setUp() throws SQLException {
    dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
    }
    tx = JdbcTransactions.of(db.dataSource());
    outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
  }

  /**
   * Issue 19, finding 1: the acknowledgement of a copy (CDC published a row's bookkeeping update)
   * came with the row's {@code seq}, and {@code DELETE … WHERE seq IN} had no status guard, so it
   * deleted the row parked meanwhile.
   */
  @Test
  void markingPublishedLeavesAParkedRowAlone() throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    long seq = seqOf(event);
    execute("UPDATE outbox_event SET status = 'DEAD', last_error = 'parked' WHERE seq = " + seq);
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    int marked;
    try (Connection c = db.dataSource().getConnection()) {
      marked = rows.markPublished(c, List.of(seq), null);
    }
    assertThat(marked).isZero();
    assertThat(count("status = 'DEAD'")).isEqualTo(1);
  }

  /**
   * Issue 19, finding 6: a CDC replay read the parked row without a lock and inserted its pending
   * copy whatever its delete removed. A purge that commits between the replay's read and its delete
   * must win: no pending copy, so nothing is published. The purge holds the row's lock until the
   * replay waits for it, then commits.
   */
  @Test
  void aPurgeThatCommitsWhileAReplayRunsWins() throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    execute("UPDATE outbox_event SET status = 'DEAD', last_error = 'parked'");
    JdbcParkedEvents parked =
        new JdbcParkedEvents(
            new Jdbc(db.dataSource()),
            dialect,
            OutboxTable.DEFAULT,
            () -> {},
            java.time.Clock.systemUTC());
    try (Connection purge = db.dataSource().getConnection()) {
      purge.setAutoCommit(false);
      try (PreparedStatement delete =
          purge.prepareStatement("DELETE FROM outbox_event WHERE status = 'DEAD' AND id = ?")) {
        dialect.setUuid(delete, 1, event.id());
        assertThat(delete.executeUpdate()).isEqualTo(1);
      }
      CompletableFuture<Integer> replay =
          CompletableFuture.supplyAsync(() -> parked.replay(List.of(event.id())));
      await().atMost(Duration.ofSeconds(30)).until(() -> waitingForALock() > 0);
      purge.commit();
      assertThat(replay.get(30, TimeUnit.SECONDS)).as("events replayed").isZero();
    }
    assertThat(count("1 = 1")).as("rows left after the purge").isZero();
  }

  /**
   * Review of 0.8 (review2): a replay re-inserts each parked row with a new {@code seq}, in the
   * order of the ids it was given ({@code ParkedEvents.replay(Collection)}, the endpoint's {@code
   * ?ids=b,a}). Two parked events of one key replayed in one call then swap places: the relay
   * delivers a key's events in {@code seq} order, so the later event would reach Kafka first.
   * Before 0.8 a polling replay kept the old {@code seq}s and with them the append order.
   */
  @Test
  void replayingTwoEventsOfOneKeyKeepsTheirAppendOrderWhateverTheOrderOfTheIds() throws Exception {
    OutboxEvent first =
        tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "first")));
    OutboxEvent second =
        tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "second")));
    execute("UPDATE outbox_event SET status = 'DEAD', last_error = 'parked'");
    JdbcParkedEvents parked =
        new JdbcParkedEvents(
            new Jdbc(db.dataSource()),
            dialect,
            OutboxTable.DEFAULT,
            () -> {},
            java.time.Clock.systemUTC());

    assertThat(parked.replay(List.of(second.id(), first.id()))).isEqualTo(2);

    assertThat(count("status = 'PENDING'")).isEqualTo(2);
    assertThat(seqOf(first))
        .as("seq of the first event appended, after the replay (the second's is %d)", seqOf(second))
        .isLessThan(seqOf(second));
  }

  /**
   * Issue 21: a replay re-inserted the parked row with a new {@code seq} but its old {@code
   * created_at}, so right after replaying an event parked days ago the oldest pending event (the
   * {@code outbox.lag} gauge, the health's lag and {@code status}) read days old and fired the lag
   * alerts. The lag now counts from when the event became pending again; the append time stays in
   * the {@code outbox-appended-at} header.
   */
  @Test
  void aReplayedEventCountsItsLagFromTheReplayAndKeepsItsAppendTimeInAHeader() throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    Instant appended = Instant.now().minus(Duration.ofDays(3)).truncatedTo(ChronoUnit.MICROS);
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement park =
            c.prepareStatement(
                "UPDATE outbox_event SET status = 'DEAD', last_error = 'parked', created_at = ?"
                    + " WHERE id = ?")) {
      dialect.setInstant(park, 1, appended);
      dialect.setUuid(park, 2, event.id());
      assertThat(park.executeUpdate()).isEqualTo(1);
    }
    Clock clock = Clock.systemUTC();
    JdbcParkedEvents parked =
        new JdbcParkedEvents(
            new Jdbc(db.dataSource()), dialect, OutboxTable.DEFAULT, () -> {}, clock);

    assertThat(parked.replay(List.of(event.id()))).isEqualTo(1);

    RelayInspection.Backlog backlog =
        RelayInspection.of(
                db.dataSource(), dialect, OutboxTable.DEFAULT, OutboxDefaults.PARTITIONS, clock)
            .backlog();
    assertThat(backlog.pending()).isEqualTo(1);
    assertThat(backlog.oldestPending())
        .as("age of the oldest pending event right after replaying one appended 3 days ago")
        .isLessThan(Duration.ofMinutes(1));
    Row replayed = pending(event.id());
    assertThat(replayed.headers())
        .contains("\"" + OutboxHeaders.APPENDED_AT + "\":\"" + appended + "\"");
    assertThat(replayed.createdAt()).isAfter(appended.plus(Duration.ofDays(2)));

    // Parked again and replayed again: the header still names the first append.
    execute("UPDATE outbox_event SET status = 'DEAD', last_error = 'parked again'");
    assertThat(parked.replay(List.of(event.id()))).isEqualTo(1);
    assertThat(pending(event.id()).headers())
        .contains("\"" + OutboxHeaders.APPENDED_AT + "\":\"" + appended + "\"");
  }

  private long waitingForALock() throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    + " AND query LIKE '%outbox_event%'")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private record Row(Instant createdAt, String headers) {}

  private Row pending(UUID id) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT created_at, headers FROM outbox_event WHERE status = 'PENDING' AND id = ?")) {
      dialect.setUuid(s, 1, id);
      try (ResultSet rs = s.executeQuery()) {
        assertThat(rs.next()).as("pending row of %s", id).isTrue();
        return new Row(dialect.getInstant(rs, "created_at"), rs.getString("headers"));
      }
    }
  }

  private long seqOf(OutboxEvent event) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s = c.prepareStatement("SELECT seq FROM outbox_event WHERE id = ?")) {
      dialect.setUuid(s, 1, event.id());
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private long count(String where) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM outbox_event WHERE " + where)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
