package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.internal.delivery.PublishResult.FailureKind;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 19, finding 2: the polling relay reads past a page of held keys (more waiting keys than a
 * read leaves out in SQL), but {@code seq} is assigned at insert and a row becomes visible at
 * commit. A row of key K with a smaller {@code seq} than the read-past position that commits after
 * the page was read (and before K's next event is even written, as a writer that serializes its
 * aggregate's transactions does) must still be published before K's next event.
 *
 * <p>Drives the real {@link PublishLoop} step by step over real PostgreSQL (outbox rows, leases,
 * the relay's SQL); the sender records what it is handed, refuses the {@code held-*} keys (kept
 * waiting an hour) and acknowledges the rest, so no broker is needed to observe the order.
 */
@ServerTest
class LateCommitOrderIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  /** Every event handed to the sender, in order. */
  private final List<PendingEvent> handed = new ArrayList<>();

  @Test
  void aRowCommittedLateBelowTheReadPastPositionIsPublishedBeforeItsKeysNextEvent()
      throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
    }
    TestLeaseManagers.clearLeaseTables(db.dataSource());
    LeaseManager leases =
        TestLeaseManagers.create(db.dataSource(), dialect, "late~1", Duration.ofSeconds(1), null);
    leases.heartbeat();
    assertThat(leases.owned()).hasSize(16);

    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    // One outbox partition (0). A read takes the 32 oldest pending rows of the leased partitions
    // in seq order; 40 held keys, 20 on each side of K's row, fill a read with held keys only.
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).partitions(1).build();
    tx.execute(c -> append(outbox, held(0, 20)));
    // K's first event: seq assigned now, visible only when this transaction commits.
    CountDownLatch inserted = new CountDownLatch(1);
    CountDownLatch commit = new CountDownLatch(1);
    long[] firstOfK = new long[1];
    Thread writer =
        new Thread(
            () ->
                tx.execute(
                    c -> {
                      append(outbox, "K");
                      firstOfK[0] = seqOf(c, "K");
                      inserted.countDown();
                      await(commit);
                    }),
            "late-committer");
    writer.start();
    assertThat(inserted.await(30, TimeUnit.SECONDS)).isTrue();
    tx.execute(c -> append(outbox, held(20, 40)));

    KeyHolds holds = new KeyHolds(1);
    // The sender refuses the held-* keys for a reason of the event and acknowledges the rest.
    PublishLoop loop =
        PublishLoopFixture.loop(
            db.dataSource(),
            dialect,
            leases,
            holds,
            new PublishLoopFixture.RecordingSender(
                handed,
                e ->
                    e.key().startsWith("held-")
                        ? new PublishResult.Failed(e, "refused by the test", FailureKind.EVENT)
                        : new PublishResult.Acked(e, Clock.systemUTC().instant())),
            "late");
    // Every held-* event fails once (an hour to its retry), then the relay pages past them, one
    // key left out in SQL; step until its read position is past K's invisible row.
    boolean past = false;
    for (int i = 0; i < 60 && !past; i++) {
      loop.step();
      Long after = holds.readAfter(Set.of(0)).get(0);
      past = after != null && after > firstOfK[0] && handed.size() >= 40;
    }
    assertThat(past).as("the relay reads past a page of held keys beyond K's row").isTrue();

    commit.countDown();
    writer.join(30_000);
    try (Connection c = db.dataSource().getConnection()) {
      assertThat(seqOf(c, "K")).as("K's first event committed").isEqualTo(firstOfK[0]);
    }
    tx.execute(c -> append(outbox, "K"));

    for (int i = 0; i < 60; i++) {
      loop.step();
    }
    loop.finishInFlight();
    assertThat(handed)
        .filteredOn(e -> e.key().equals("K"))
        .extracting(PendingEvent::seq)
        .as("K's events, in the order the relay handed them over")
        .isSorted()
        .hasSize(2);
  }

  private static void append(Outbox outbox, String... keys) {
    for (String key : keys) {
      outbox.append(OutboxMessage.of("late", key, "Happened", "{}"));
    }
  }

  private static String[] held(int from, int to) {
    return java.util.stream.IntStream.range(from, to)
        .mapToObj(i -> "held-" + i)
        .toArray(String[]::new);
  }

  private static void await(CountDownLatch latch) {
    try {
      latch.await(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static long seqOf(Connection c, String key) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT MIN(seq) FROM outbox_event WHERE aggregateid = '" + key + "'")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
