package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A batch that outlives its lease and comes back to a partition its instance claimed again (found
 * by RelayZombieIntegrationTests on a busy machine: 1,470 of 34,650 events never published, the
 * relay RUNNING with its 8 partitions).
 *
 * <p>The relay froze with a batch in flight; another instance took the partition over and published
 * the batch's events; the relay woke, lost its leases, and then claimed the partition again. Its
 * late batch then came back failed (or deferred, not handed over once the leases were gone), and
 * the decision held the key on an event whose row the other instance had deleted. A held key sends
 * nothing after its held event, and that event is never read again: every later event of the key
 * waited for good. A batch's outcome must not change the key holds of a partition whose lease
 * changed hands after the batch was read; the rows say what is left to do.
 *
 * <p>Drives the real {@link PublishLoop} and {@link LeaseManager} over real PostgreSQL; the other
 * instance's work is done in SQL (its claim, and the delete that follows its publish).
 */
@ServerTest
class StaleBatchHoldsIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private final List<PendingEvent> handed = new ArrayList<>();

  @Test
  void aLateFailureOfABatchFromBeforeALostLeaseHoldsNoKeyAfterTheLeaseIsClaimedAgain()
      throws Exception {
    assertAKeyGoesOnAfterALateOutcome(
        e -> new PublishResult.Failed(e, "timed out", PublishResult.FailureKind.BROKER));
  }

  @Test
  void aLateDeferralOfABatchFromBeforeALostLeaseHoldsNoKeyAfterTheLeaseIsClaimedAgain()
      throws Exception {
    assertAKeyGoesOnAfterALateOutcome(PublishResult.Deferred::new);
  }

  private void assertAKeyGoesOnAfterALateOutcome(Function<PendingEvent, PublishResult> late)
      throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    TestLeaseManagers.clearLeaseTables(db.dataSource());
    insert("k", "first");
    insert("k", "second");

    KeyHolds holds = new KeyHolds();
    LeaseManager leases =
        TestLeaseManagers.create(
            db.dataSource(), dialect, "stale~1", Duration.ofSeconds(1), null, holds);
    leases.heartbeat();
    assertThat(leases.owned()).hasSize(16);
    boolean[] lateOutcome = {true};
    PublishLoop loop =
        PublishLoopFixture.loop(
            db.dataSource(),
            dialect,
            leases,
            holds,
            new PublishLoopFixture.RecordingSender(
                handed,
                e ->
                    lateOutcome[0]
                        ? late.apply(e)
                        : new PublishResult.Acked(e, Clock.systemUTC().instant())),
            "stale");
    // The batch is read and handed over; its outcome comes back at the next step.
    loop.step();
    assertThat(handed).extracting(PendingEvent::key).containsExactly("k", "k");

    // Frozen past its lease: another instance claims every partition, publishes both events and
    // deletes their rows, then leaves; this one wakes, finds its leases gone, claims them again.
    execute("UPDATE outbox_relay_lease SET owner_id = 'other~1', epoch = epoch + 1");
    execute("DELETE FROM outbox_event");
    leases.heartbeat(); // the leases are someone else's: dropped
    assertThat(leases.owned()).isEmpty();
    execute("UPDATE outbox_relay_lease SET owner_id = NULL, expires_at = NULL");
    leases.heartbeat(); // claimed again
    assertThat(leases.owned()).hasSize(16);
    insert("k", "third");

    // Now the late outcome of the batch from before arrives, and the key's next event is read.
    loop.step();
    lateOutcome[0] = false;
    for (int i = 0; i < 10 && handed.size() < 3; i++) {
      loop.step();
    }
    loop.finishInFlight();
    assertThat(handed)
        .extracting(e -> e.event().eventType())
        .as("the key's event written after the claim is sent; its earlier ones are gone")
        .containsExactly("first", "second", "third");
  }

  private void insert(String key, String type) throws SQLException {
    execute(
        "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
            + " partition_no) VALUES (gen_random_uuid(), 'stale', '"
            + key
            + "', '"
            + type
            + "', '\\x30'::bytea, now(), 0)");
  }

  private void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
