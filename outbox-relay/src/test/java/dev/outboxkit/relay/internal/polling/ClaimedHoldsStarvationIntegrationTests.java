package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Review finding (merge of Dec 6, issue 23 read): one partition's held keys must not starve the
 * other partitions of the same publishing thread.
 *
 * <p>A lease claim loads the keys that failed before with their held event unknown ({@code seq} -1,
 * learned when the key is first read). Only {@code maxExcluded} of them are left out of a read in
 * SQL; the rest are read and filtered in memory, and a partition is paged past only once every held
 * key knows its held event ({@code KeyHolds.headsKnown}), which a key left out in SQL never does
 * before its retry is due. The per-partition read gave every partition its own page, so the other
 * partitions were read whatever one partition held. The read over all partitions in {@code seq}
 * order fills with the held partition's older rows, nothing in it can be sent, the partition is not
 * paged past, and the same rows are read again on every poll: an event in another partition waits
 * until those retries are due (up to the maximum backoff, 5 minutes by default).
 *
 * <p>Drives the real {@link PublishLoop} over real PostgreSQL; the sender acknowledges everything
 * it is handed.
 */
@ServerTest
class ClaimedHoldsStarvationIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private final List<PendingEvent> handed = new ArrayList<>();

  @Test
  void heldKeysLoadedAtClaimDoNotStarveTheOtherPartitionsOfTheThread() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
      // 40 keys of partition 0 that failed before and wait an hour for their retry (the oldest
      // rows), then one fresh event in partition 1.
      for (int i = 0; i < 40; i++) {
        s.execute(
            "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
                + " partition_no, attempts, next_attempt_at) VALUES (gen_random_uuid(), 'starve',"
                + " 'retrying-"
                + i
                + "', 'Failed', '\\x30'::bytea, now(), 0, 1, now() + interval '1 hour')");
      }
      s.execute(
          "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
              + " partition_no) VALUES (gen_random_uuid(), 'starve', 'fresh', 'Happened',"
              + " '\\x30'::bytea, now(), 1)");
    }
    TestLeaseManagers.clearLeaseTables(db.dataSource());
    LeaseManager leases =
        TestLeaseManagers.create(db.dataSource(), dialect, "starve~1", Duration.ofSeconds(1), null);
    leases.heartbeat();
    assertThat(leases.owned()).hasSize(16);

    // What the lease claim loads (LeaseManager -> KeyHolds.load), into the loop's holds; one key
    // left out in SQL stands for MAX_EXCLUDED (1,000) of a partition with more failed keys.
    KeyHolds holds = new KeyHolds(1);
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    try (Connection c = db.dataSource().getConnection()) {
      holds.load(0, rows.retrying(c, 0));
    }
    PublishLoop loop =
        PublishLoopFixture.loop(
            db.dataSource(),
            dialect,
            leases,
            holds,
            new PublishLoopFixture.RecordingSender(
                handed, e -> new PublishResult.Acked(e, Clock.systemUTC().instant())),
            "starve");
    for (int i = 0; i < 20 && handed.stream().noneMatch(e -> e.key().equals("fresh")); i++) {
      loop.step();
    }
    loop.finishInFlight();
    assertThat(handed)
        .extracting(PendingEvent::key)
        .as("partition 1's event is sent although partition 0 holds keys waiting for an hour")
        .contains("fresh");
  }
}
