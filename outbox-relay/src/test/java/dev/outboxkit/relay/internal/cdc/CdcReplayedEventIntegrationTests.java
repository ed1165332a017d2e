package dev.outboxkit.relay.internal.cdc;

import static dev.outboxkit.relay.internal.cdc.CdcBatchFixture.insert;
import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.internal.JdbcParkedEvents;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.cdc.CdcBatchFixture.Committer;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * Issue 19, review6: a restarted engine that reads a replayed event's old insert and its copy's
 * insert in one batch (both have the event's id, the copy a new {@code seq}). The batch handler's
 * bookkeeping was keyed by event id: the attempts recorded on the copy's row went to the old insert
 * (read first), and an old insert settled (acknowledged or parked) took the copy out of the batch
 * unsent, whose position was then stored: the copy stayed {@code PENDING} for good, never read
 * again. Against a real PostgreSQL (lease, outbox table, parked events), with a broker that refuses
 * every event for a reason of the event (an attempt each).
 */
@ServerTest
@Isolated
class CdcReplayedEventIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  /** Sends per row ({@code seq}): every one refused for a reason of the event. */
  private final Map<Long, Integer> sends = new ConcurrentHashMap<>();

  private Outbox outbox;
  private JdbcTransactions tx;
  private OutboxDialect dialect;
  private CdcRowStore rowStore;
  private JdbcParkedEvents parked;
  private CdcBatchFixture engine;
  private CdcBatchHandler handler;

  @BeforeEach
  void setUp() throws Exception {
    engine = CdcBatchFixture.engine(db, "replayed");
    dialect = engine.dialect;
    execute("DELETE FROM outbox_event");
    tx = JdbcTransactions.of(db.dataSource());
    outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    rowStore = engine.rowStore;
    parked =
        new JdbcParkedEvents(
            engine.jdbc, dialect, engine.settings.table(), () -> {}, Clock.systemUTC());
    BatchSender refusing =
        CdcBatchFixture.answering(
            batch ->
                batch.stream()
                    .<PublishResult>map(
                        e -> {
                          sends.merge(e.seq(), 1, Integer::sum);
                          return new PublishResult.Failed(
                              e, "unknown topic (test)", PublishResult.FailureKind.EVENT);
                        })
                    .toList());
    handler = engine.handler(refusing);
  }

  @AfterEach
  void tearDown() {
    engine.close();
  }

  /**
   * Event E was parked, replayed (the copy failed twice, recorded on the copy's row: attempts 2 of
   * 3), then the engine restarted from an offset before E's old insert and read both inserts in one
   * batch. Each row is decided on its own count: the old insert from zero (three sends, then its
   * park finds the copy and leaves it), the copy from its own two attempts (one more send, then
   * parked with attempts 3). Before, the old insert took the copy's count (one send), its park
   * settled "E" and took the copy out of the batch unsent: the copy stayed PENDING with its
   * position stored, read by no engine again, neither published nor parked.
   */
  @Test
  void aReReadOfAReplayedEventsOldInsertAndItsCopyAreEachDecidedOnTheirOwnCount() throws Exception {
    OutboxEvent event = tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", "E", "0")));
    long oldSeq = seqOf(event);
    rowStore.park(new PendingEvent(oldSeq, event, 3, null), "unknown topic", 3);
    assertThat(parked.replay(List.of(event.id()))).isEqualTo(1);
    long copySeq = seqOf(event);
    // The copy failed twice before the restart (CdcRowStore.recordRetries on its row).
    execute("UPDATE outbox_event SET attempts = 2 WHERE seq = " + copySeq);

    Committer committed = new Committer();
    handler
        .forRun(() -> true)
        .handleBatch(List.of(insert(oldSeq, event), insert(copySeq, event)), committed);

    assertThat(committed.finished).isEqualTo(1);
    assertThat(sends.getOrDefault(copySeq, 0))
        .as("sends of the replayed copy, which goes on from its own 2 recorded attempts of 3")
        .isEqualTo(1);
    assertThat(sends.getOrDefault(oldSeq, 0))
        .as("sends of the old insert, counted from zero: the copy's attempts are not its own")
        .isEqualTo(3);
    assertThat(statusAndAttempts(copySeq))
        .as("the copy, parked on its own count (not left PENDING)")
        .isEqualTo("DEAD/3");
    assertThat(rowCount()).as("one row of E: its copy, no row for the old insert").isEqualTo(1);
  }

  private long seqOf(OutboxEvent event) throws SQLException {
    return CdcBatchFixture.seqOf(db.dataSource(), event);
  }

  private String statusAndAttempts(long seq) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT status, attempts FROM outbox_event WHERE seq = " + seq)) {
      return rs.next() ? rs.getString(1) + "/" + rs.getInt(2) : "no row";
    }
  }

  private long rowCount() throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM outbox_event")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
