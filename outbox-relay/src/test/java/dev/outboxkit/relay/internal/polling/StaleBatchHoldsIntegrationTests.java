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
 * waited for good. The same happens when another instance's late batch deletes the row a key is
 * held on. A key held on an event that is no longer pending must go on; and a late outcome must
 * still hold its key when its event is still pending (a first fix that ignored outcomes of batches
 * read under an earlier lease let a read-ahead send a key's second event while its first waited for
 * a retry: the adversarial review's cases below).
 *
 * <p>Drives the real {@link PublishLoop} and {@link LeaseManager} over real PostgreSQL; the other
 * instance's work is done in SQL (its claim, and the delete that follows its publish).
 */
@ServerTest
class StaleBatchHoldsIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private final List<PendingEvent> handed = new ArrayList<>();

  @Test
  void aLateFailureOfAnEventPublishedElsewhereHoldsNoKeyAfterTheLeaseIsClaimedAgain()
      throws Exception {
    assertAKeyGoesOnAfterALateOutcome(
        e -> new PublishResult.Failed(e, "timed out", PublishResult.FailureKind.BROKER));
  }

  @Test
  void aLateDeferralOfAnEventPublishedElsewhereHoldsNoKeyAfterTheLeaseIsClaimedAgain()
      throws Exception {
    assertAKeyGoesOnAfterALateOutcome(PublishResult.Deferred::new);
  }

  /**
   * The same late batch seen from the successor's side (review): the frozen instance's late
   * acknowledgement deletes a row that the successor holds its key on (its own send of that event
   * came back deferred). Nothing tells the successor: its hold stays on a row that is gone, and no
   * later event of the key is ever sent while it keeps the lease.
   */
  @Test
  void aKeyHeldOnARowThatAnotherInstancesLateBatchDeletesGoesOn() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    TestLeaseManagers.clearLeaseTables(db.dataSource());
    insert("k", "first");

    KeyHolds frozenHolds = new KeyHolds();
    LeaseManager frozenLeases = ownAll(dialect, "frozen~1", frozenHolds);
    List<PendingEvent> frozenHanded = new ArrayList<>();
    PublishLoop frozen =
        PublishLoopFixture.loop(
            db.dataSource(),
            dialect,
            frozenLeases,
            frozenHolds,
            new PublishLoopFixture.RecordingSender(
                frozenHanded, e -> new PublishResult.Acked(e, Clock.systemUTC().instant())),
            "frozen");
    frozen.step(); // handed over and acknowledged; recorded at its next step, late
    assertThat(frozenHanded).extracting(e -> e.event().eventType()).containsExactly("first");

    // Frozen past its leases: they and its member row lapse, and a successor claims them all.
    execute("UPDATE outbox_relay_lease SET owner_id = NULL, expires_at = NULL");
    execute("DELETE FROM outbox_relay_member WHERE member_id = 'frozen~1'");
    KeyHolds holds = new KeyHolds();
    LeaseManager leases = ownAll(dialect, "successor~1", holds);
    boolean[] defer = {true};
    PublishLoop successor =
        PublishLoopFixture.loop(
            db.dataSource(),
            dialect,
            leases,
            holds,
            new PublishLoopFixture.RecordingSender(
                handed,
                e ->
                    defer[0]
                        ? new PublishResult.Deferred(e)
                        : new PublishResult.Acked(e, Clock.systemUTC().instant())),
            "successor");
    successor.step(); // the successor sends the same event; it comes back deferred
    defer[0] = false;
    frozen.step(); // the frozen instance wakes and records its acknowledgement: the row is deleted
    successor.step(); // the deferral holds the key on the deleted row
    insert("k", "second");

    for (int i = 0; i < 10 && handed.size() < 2; i++) {
      successor.step();
    }
    successor.finishInFlight();
    assertThat(handed)
        .extracting(e -> e.event().eventType())
        .as("the key's event written after its earlier one was published and deleted is sent")
        .containsExactly("first", "second");
  }

  /**
   * Found by the model's frozen owners (DeliveryModelTests, issue 19): the successor's batch failed
   * the key's first event and deferred its second behind it, while the batch it read ahead held the
   * key's third. The frozen instance's late batch meanwhile published the first. Recording the
   * successor's retry of the first found its row gone and freed the key, though the second still
   * waited: the read-ahead sent the third before it.
   */
  @Test
  void aKeyWhoseHeldEventWasPublishedElsewhereStaysHeldOnItsDeferredNextEvent() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    TestLeaseManagers.clearLeaseTables(db.dataSource());
    insert("k", "first");
    insert("k", "second");
    for (int i = 0; i < 30; i++) {
      insert("filler-" + i, "filler");
    }
    insert("k", "third");
    insert("other", "filler");

    KeyHolds frozenHolds = new KeyHolds();
    LeaseManager frozenLeases = ownAll(dialect, "frozen~1", frozenHolds);
    List<PendingEvent> frozenHanded = new ArrayList<>();
    PublishLoop frozen =
        PublishLoopFixture.loop(
            db.dataSource(),
            dialect,
            frozenLeases,
            frozenHolds,
            new PublishLoopFixture.RecordingSender(
                frozenHanded,
                e ->
                    e.event().eventType().equals("second")
                        ? new PublishResult.Deferred(e)
                        : new PublishResult.Acked(e, Clock.systemUTC().instant())),
            "frozen-next");
    frozen.step(); // the 32 oldest handed over: the first acknowledged, the second not sent
    assertThat(frozenHanded).hasSize(32);

    // Frozen past its leases: they and its member row lapse, and a successor claims them all.
    execute("UPDATE outbox_relay_lease SET owner_id = NULL, expires_at = NULL");
    execute("DELETE FROM outbox_relay_member WHERE member_id = 'frozen~1'");
    KeyHolds holds = new KeyHolds();
    LeaseManager leases = ownAll(dialect, "successor~1", holds);
    boolean[] deferSecond = {true};
    PublishLoop successor =
        PublishLoopFixture.loop(
            db.dataSource(),
            dialect,
            leases,
            holds,
            new PublishLoopFixture.RecordingSender(
                handed,
                e -> {
                  String type = e.event().eventType();
                  if (type.equals("first")) {
                    return new PublishResult.Failed(
                        e, "timed out", PublishResult.FailureKind.BROKER);
                  }
                  if (type.equals("second") && deferSecond[0]) {
                    deferSecond[0] = false;
                    return new PublishResult.Deferred(e);
                  }
                  return new PublishResult.Acked(e, Clock.systemUTC().instant());
                }),
            "successor-next");
    successor.step(); // the same 32: the first fails (a retry in an hour), the second is deferred
    frozenLeases.heartbeat(); // the frozen one wakes: its leases are gone
    assertThat(frozenLeases.owned()).isEmpty();
    frozen.step(); // and records its late batch: the first is published (its row deleted)

    for (int i = 0; i < 10; i++) {
      successor.step(); // reads ahead, records the retry of the first, sends what it read ahead
    }
    successor.finishInFlight();
    assertThat(handed)
        .extracting(e -> e.event().eventType())
        .filteredOn(type -> type.equals("second") || type.equals("third"))
        .as("the key's third event goes only after its second, deferred behind the first")
        .containsExactly("second", "second", "third");
  }

  /**
   * The batch read ahead after the lease was claimed again (review): the late batch from before
   * failed the key's first event, whose row is still there (nobody published it meanwhile), and its
   * failure is left out of the new state; the batch read ahead then sends the key's next event
   * before the failed one, which waits for its retry.
   */
  @Test
  void aLateFailureStillHoldsItsKeyForTheBatchReadAheadAfterTheLeaseIsClaimedAgain()
      throws Exception {
    assertTheSecondEventWaitsForTheLateFailedFirst(false);
  }

  /**
   * As above, with the key's first event failed before (its row says so): the claim loads the key
   * as held on its first event read, and the batch read ahead, which leaves out the events in
   * flight, reads the second one first and takes it for the held one.
   */
  @Test
  void aKeyThatFailedBeforeIsNotHeldOnItsSecondEventWhileItsFirstIsInALateBatch() throws Exception {
    assertTheSecondEventWaitsForTheLateFailedFirst(true);
  }

  private void assertTheSecondEventWaitsForTheLateFailedFirst(boolean failedBefore)
      throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    TestLeaseManagers.clearLeaseTables(db.dataSource());
    insert("k", "first");
    for (int i = 0; i < 31; i++) {
      insert("filler-" + i, "filler");
    }
    insert("k", "second");
    insert("other", "filler");
    if (failedBefore) {
      execute(
          "UPDATE outbox_event SET attempts = 1, next_attempt_at = now() - interval '1 second'"
              + " WHERE type = 'first'");
    }

    KeyHolds holds = new KeyHolds();
    LeaseManager leases = ownAll(dialect, "stale~1", holds);
    PublishLoop loop =
        PublishLoopFixture.loop(
            db.dataSource(),
            dialect,
            leases,
            holds,
            new PublishLoopFixture.RecordingSender(
                handed,
                e ->
                    e.event().eventType().equals("first")
                        ? new PublishResult.Failed(e, "timed out", PublishResult.FailureKind.BROKER)
                        : new PublishResult.Acked(e, Clock.systemUTC().instant())),
            "stale");
    loop.step(); // the 32 oldest: the key's first event fails; more are waiting
    assertThat(handed).extracting(e -> e.event().eventType()).startsWith("first").hasSize(32);

    // Its leases are lost and claimed again while that batch is in flight; nobody else sent a
    // thing.
    execute("UPDATE outbox_relay_lease SET owner_id = 'other~1', epoch = epoch + 1");
    leases.heartbeat();
    assertThat(leases.owned()).isEmpty();
    execute("UPDATE outbox_relay_lease SET owner_id = NULL, expires_at = NULL");
    leases.heartbeat();
    assertThat(leases.owned()).hasSize(16);

    for (int i = 0; i < 5; i++) {
      loop.step(); // reads ahead, records the late failure, sends what it read ahead; and so on
    }
    loop.finishInFlight();
    assertThat(handed)
        .extracting(e -> e.event().eventType())
        .as("the key's second event waits for its first, which failed and is due in an hour")
        .doesNotContain("second");
  }

  /**
   * review21 F3 through the real loop: a late batch defers ten events of a key (the key held on the
   * first, the other nine queued behind it) that another instance published meanwhile. The key's
   * next event is read at once, but each read asked the table about the held event only, and the
   * hand-over gave the key to the next event of the line without asking: ten reads, each with a
   * query, before the next event went. One read now.
   */
  @Test
  void aLineOfDeferredEventsPublishedElsewhereHoldsItsKeyForOneReadOnly() throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    TestLeaseManagers.clearLeaseTables(db.dataSource());
    for (int i = 0; i < 10; i++) {
      insert("k", "line-" + i);
    }

    KeyHolds holds = new KeyHolds();
    LeaseManager leases = ownAll(dialect, "stale~1", holds);
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
                        ? new PublishResult.Deferred(e)
                        : new PublishResult.Acked(e, Clock.systemUTC().instant())),
            "stale-line");
    loop.step(); // the ten are handed over; their outcome comes back at the next step
    assertThat(handed).hasSize(10);

    // Frozen past its lease: another instance publishes the ten and deletes their rows; this one
    // claims the partitions again.
    execute("UPDATE outbox_relay_lease SET owner_id = 'other~1', epoch = epoch + 1");
    execute("DELETE FROM outbox_event");
    leases.heartbeat();
    assertThat(leases.owned()).isEmpty();
    execute("UPDATE outbox_relay_lease SET owner_id = NULL, expires_at = NULL");
    leases.heartbeat();
    assertThat(leases.owned()).hasSize(16);
    insert("k", "next");

    loop.step(); // the late deferrals: the key held on the first of the ten, nine behind it
    lateOutcome[0] = false;
    assertThat(holds.isHeld(0, "k")).isTrue();
    int reads = 0;
    while (handed.size() < 11 && reads < 20) {
      reads++;
      loop.step();
    }
    loop.finishInFlight();
    assertThat(handed).last().extracting(e -> e.event().eventType()).isEqualTo("next");
    assertThat(reads).as("reads before the key's next event goes").isEqualTo(1);
  }

  private void assertAKeyGoesOnAfterALateOutcome(Function<PendingEvent, PublishResult> late)
      throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    TestLeaseManagers.clearLeaseTables(db.dataSource());
    insert("k", "first");
    insert("k", "second");

    KeyHolds holds = new KeyHolds();
    LeaseManager leases = ownAll(dialect, "stale~1", holds);
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

  /** A lease manager for {@code member} that claimed all 16 partitions at its first heartbeat. */
  private static LeaseManager ownAll(OutboxDialect dialect, String member, KeyHolds holds)
      throws Exception {
    LeaseManager leases =
        TestLeaseManagers.create(
            db.dataSource(), dialect, member, Duration.ofSeconds(1), null, holds);
    leases.heartbeat();
    assertThat(leases.owned()).hasSize(16);
    return leases;
  }
}
