package dev.outboxkit.relay.internal.cdc;

import static dev.outboxkit.relay.internal.cdc.CdcBatchFixture.insert;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.internal.cdc.CdcBatchFixture.Committer;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import io.debezium.engine.RecordChangeEvent;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * review19 F3: after an engine restart the first batch reads the insert images again (attempts 0)
 * and the handler restored the attempts recorded on failed rows, but not their {@code
 * next_attempt_at}: an event that failed before the restart went again at once, one backoff skipped
 * per restart (and parked sooner under repeated restarts). Against a real PostgreSQL (lease, outbox
 * table), with a broker that acknowledges everything and notes when each event was handed to it.
 */
@ServerTest
@Isolated
class CdcRestartRetryTimeIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  /** Events handed to the broker, in order, with the time by the relay's clock. */
  private final List<Sent> sent = Collections.synchronizedList(new ArrayList<>());

  private record Sent(long seq, Instant at) {}

  private Outbox outbox;
  private JdbcTransactions tx;
  private OutboxDialect dialect;
  private CdcBatchFixture engine;
  private CdcBatchHandler handler;

  @BeforeEach
  void setUp() throws Exception {
    engine = CdcBatchFixture.engine(db, "restart");
    dialect = engine.dialect;
    execute("DELETE FROM outbox_event");
    tx = JdbcTransactions.of(db.dataSource());
    outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    RelaySettings settings = engine.settings;
    BatchSender acking =
        CdcBatchFixture.answering(
            batch -> {
              Instant at = settings.clock().instant();
              return batch.stream()
                  .<PublishResult>map(
                      e -> {
                        sent.add(new Sent(e.seq(), at));
                        return new PublishResult.Acked(e, at);
                      })
                  .toList();
            });
    handler =
        engine.handler(
            new KeyHolds(settings.retryMaxInterval(), settings.clock()), engine.breaker(), acking);
  }

  @AfterEach
  void tearDown() {
    engine.close();
  }

  /**
   * Event E of key k failed once before the engine restarted: its row has attempts 1 and a retry
   * time 1 s away (the relay's longest backoff in these settings). The restarted engine reads E's
   * insert and that of F, k's next event, in one batch. E waits for its retry time and goes alone;
   * F goes after it. Before the fix E went at once: {@code Expecting actual: <E's send> to be after
   * or equal to: <its retry time>}, about 1 s early.
   */
  @Test
  void anEventThatFailedBeforeARestartWaitsForTheRetryTimeOnItsRow() throws Exception {
    OutboxEvent e = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    OutboxEvent f = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "F", "1")));
    long eSeq = seqOf(e);
    long fSeq = seqOf(f);
    // E's failure as CdcRowStore.recordRetries recorded it before the restart.
    Instant retryAt = Instant.now().plus(Duration.ofSeconds(1));
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement update =
            c.prepareStatement(
                "UPDATE outbox_event SET attempts = 1, next_attempt_at = ? WHERE seq = ?")) {
      dialect.setInstant(update, 1, retryAt);
      update.setLong(2, eSeq);
      assertThat(update.executeUpdate()).isEqualTo(1);
    }

    Committer committed = new Committer();
    handler.engineStarting();
    handler.forRun(() -> true).handleBatch(List.of(insert(eSeq, e), insert(fSeq, f)), committed);

    assertThat(committed.finished).isEqualTo(1);
    assertThat(sent).extracting(Sent::seq).containsExactly(eSeq, fSeq);
    assertThat(sent.get(0).at()).as("E's send, by the relay's clock").isAfterOrEqualTo(retryAt);
    assertThat(sent.get(1).at()).as("F's send, after E's").isAfterOrEqualTo(sent.get(0).at());
  }

  /**
   * F3 with F2: the retry time restored from E's row was written by an instance whose clock runs an
   * hour ahead. E waits the relay's longest backoff (1 s here) from the first selection, not the
   * hour, although the handler selects its batch again every second or sooner while it waits (a
   * bound taken from each selection's now would move on with it and never come due).
   */
  @Test
  void aRetryTimeRestoredFromAClockAheadIsWaitedForAtMostTheLongestBackoff() throws Exception {
    OutboxEvent e = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    OutboxEvent f = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "F", "1")));
    long eSeq = seqOf(e);
    long fSeq = seqOf(f);
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement update =
            c.prepareStatement(
                "UPDATE outbox_event SET attempts = 1, next_attempt_at = ? WHERE seq = ?")) {
      dialect.setInstant(update, 1, Instant.now().plus(Duration.ofHours(1)));
      update.setLong(2, eSeq);
      assertThat(update.executeUpdate()).isEqualTo(1);
    }

    Committer committed = new Committer();
    handler.engineStarting();
    Instant started = Instant.now();
    assertTimeoutPreemptively(
        Duration.ofSeconds(20),
        () ->
            handler
                .forRun(() -> true)
                .handleBatch(List.of(insert(eSeq, e), insert(fSeq, f)), committed));

    assertThat(committed.finished).isEqualTo(1);
    assertThat(sent).extracting(Sent::seq).containsExactly(eSeq, fSeq);
    assertThat(sent.get(0).at())
        .as("E's send: not before the longest backoff (1 s) from the batch")
        .isAfterOrEqualTo(started.plus(Duration.ofSeconds(1)));
  }

  /**
   * review20 A: a broker outage on an instance whose clock runs an hour ahead failed every event of
   * key k it had handed over (no attempt counted, a retry time each, an hour ahead). The restarted
   * engine reads the six inserts in one batch. Each event after the first became the held one only
   * once the one before it was acknowledged, and its bound (the longest backoff, 1 s here) was
   * taken from then: one longest backoff per event, the whole batch (and the stream behind it)
   * waited six, up to the whole difference of the clocks with more events. Now every one of them
   * waits at most the longest backoff from the batch's first selection.
   */
  @Test
  void eventsOfOneKeyRestoredFromAClockAheadAreWaitedForAtMostOneLongestBackoff() throws Exception {
    List<OutboxEvent> events = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      String payload = Integer.toString(i);
      events.add(tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", payload))));
    }
    Instant ahead = Instant.now().plus(Duration.ofHours(1));
    List<Long> seqs = new ArrayList<>();
    List<RecordChangeEvent<SourceRecord>> batch = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement update =
            c.prepareStatement(
                "UPDATE outbox_event SET attempts = 0, next_attempt_at = ? WHERE seq = ?")) {
      for (OutboxEvent e : events) {
        long seq = seqOf(e);
        seqs.add(seq);
        batch.add(insert(seq, e));
        dialect.setInstant(update, 1, ahead.plusMillis(seqs.size()));
        update.setLong(2, seq);
        assertThat(update.executeUpdate()).isEqualTo(1);
      }
    }

    Committer committed = new Committer();
    handler.engineStarting();
    Instant started = Instant.now();
    assertTimeoutPreemptively(
        Duration.ofSeconds(20), () -> handler.forRun(() -> true).handleBatch(batch, committed));

    assertThat(committed.finished).isEqualTo(1);
    assertThat(sent).extracting(Sent::seq).containsExactlyElementsOf(seqs);
    assertThat(sent.get(0).at())
        .as("the first event's send: not before the longest backoff (1 s) from the batch")
        .isAfterOrEqualTo(started.plus(Duration.ofSeconds(1)));
    assertThat(sent.get(5).at())
        // About 1 s here; one longest backoff per event (before the fix) put it at 6 s: the margin
        // on either side is for a loaded machine.
        .as("the sixth event's send: the longest backoff (1 s) from the batch, plus the sends")
        .isBefore(started.plus(Duration.ofMillis(3500)));
  }

  /**
   * review21 F2 at engine restarts: the handler's key holds are cleared at every batch, and the
   * bound of a retry time from a clock ahead lived on them only, so each restarted engine's first
   * batch took it again from its own first selection. An engine restarted more often than the
   * longest backoff (here each run is stopped 700 ms after it started, the longest backoff is 1 s)
   * never sent E: five runs, nothing published. The bound now stays the one of the first selection,
   * in the relay's key holds, which every engine run shares: E goes in the second run.
   */
  @Test
  void aRetryTimeFromAClockAheadKeepsTheBoundOfItsFirstReadAcrossEngineRestarts() throws Exception {
    OutboxEvent e = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    OutboxEvent f = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "F", "1")));
    long eSeq = seqOf(e);
    long fSeq = seqOf(f);
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement update =
            c.prepareStatement(
                "UPDATE outbox_event SET attempts = 1, next_attempt_at = ? WHERE seq = ?")) {
      dialect.setInstant(update, 1, Instant.now().plus(Duration.ofHours(1)));
      update.setLong(2, eSeq);
      assertThat(update.executeUpdate()).isEqualTo(1);
    }

    Committer committed = new Committer();
    Instant started = Instant.now();
    int runs = 0;
    while (committed.finished == 0 && runs < 5) {
      runs++;
      handler.engineStarting();
      Instant runStarted = Instant.now();
      try {
        assertTimeoutPreemptively(
            Duration.ofSeconds(20),
            () ->
                handler
                    .forRun(() -> Instant.now().isBefore(runStarted.plusMillis(700)))
                    .handleBatch(List.of(insert(eSeq, e), insert(fSeq, f)), committed));
      } catch (CdcBatchHandler.LeaseLost stopped) {
        // The run was stopped; the next engine reads the batch again.
      }
    }

    assertThat(committed.finished).as("batches finished in %d runs", runs).isEqualTo(1);
    assertThat(sent).extracting(Sent::seq).containsExactly(eSeq, fSeq);
    assertThat(sent.get(0).at())
        .as("E's send: not before the longest backoff (1 s) from the first run's selection")
        .isAfterOrEqualTo(started.plus(Duration.ofSeconds(1)));
  }

  private long seqOf(OutboxEvent event) throws SQLException {
    return CdcBatchFixture.seqOf(db.dataSource(), event);
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
