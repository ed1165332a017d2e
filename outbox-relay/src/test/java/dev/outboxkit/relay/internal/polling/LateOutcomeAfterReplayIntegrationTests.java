package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.JdbcParkedEvents;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.relay.internal.delivery.PublishResult;
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
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A batch that outlives its lease while an operator replays one of its events (issue 19): the
 * frozen owner handed event E over; its lease lapsed, another instance claimed the partition, sent
 * E, was refused for good and parked it; the operator fixed the cause and replayed E, which deletes
 * the parked row and inserts a pending copy (same id, a new {@code seq}). Then the frozen owner
 * wakes and records the outcome it computed for E's old row: a park, or a retry an hour away. That
 * outcome belongs to a row that no longer exists and must not touch the copy: not park it again,
 * not count a stale attempt on it, not push its next attempt an hour away, and not hold its key.
 *
 * <p>The relay's statements find rows by {@code seq} and only while {@code PENDING}, and a replay
 * always takes a new {@code seq}, so the copy is out of the stale outcome's reach; these tests keep
 * it so (a replay that kept the {@code seq}, as before 0.8, or a statement by event id, as the CDC
 * relay's park had, would fail them).
 *
 * <p>Drives the real {@link PublishLoop}, {@link LeaseManager} and {@link JdbcParkedEvents} over
 * real PostgreSQL; the lease's lapse is done in SQL.
 */
@ServerTest
class LateOutcomeAfterReplayIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Test
  void aLateParkOfTheOldRowLeavesTheReplayedCopyPending() throws Exception {
    assertTheReplayedCopyIsUntouched(
        e -> new PublishResult.Failed(e, "too large", PublishResult.FailureKind.PERMANENT), false);
  }

  @Test
  void aLateRetryOfTheOldRowNeitherCountsAnAttemptOnTheCopyNorDelaysIt() throws Exception {
    assertTheReplayedCopyIsUntouched(
        e -> new PublishResult.Failed(e, "missing topic", PublishResult.FailureKind.EVENT), false);
  }

  /**
   * The frozen owner claims the partition again before its late retry is recorded: the retry holds
   * the key on the old row, which is gone; the copy must still go, and at once.
   */
  @Test
  void aLateRetryRecordedAfterTheLeaseIsClaimedAgainDoesNotHoldTheReplayedCopy() throws Exception {
    assertTheReplayedCopyIsUntouched(
        e -> new PublishResult.Failed(e, "missing topic", PublishResult.FailureKind.EVENT), true);
  }

  private void assertTheReplayedCopyIsUntouched(
      Function<PendingEvent, PublishResult> lateOutcome, boolean claimedAgain) throws Exception {
    OutboxDialect dialect = RelayTables.create(db.dataSource());
    execute("DELETE FROM outbox_event");
    TestLeaseManagers.clearLeaseTables(db.dataSource());
    insert("k", "event");
    long oldSeq = longOf("SELECT seq FROM outbox_event");
    UUID id = UUID.fromString(stringOf("SELECT id::text FROM outbox_event"));

    KeyHolds frozenHolds = new KeyHolds();
    LeaseManager frozenLeases =
        TestLeaseManagers.create(
            db.dataSource(), dialect, "frozen~1", Duration.ofSeconds(1), null, frozenHolds);
    frozenLeases.heartbeat();
    assertThat(frozenLeases.owned()).hasSize(16);
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
                    e.seq() == oldSeq
                        ? lateOutcome.apply(e)
                        : new PublishResult.Acked(e, Clock.systemUTC().instant())),
            "late-frozen");
    frozen.step(); // E handed over; its outcome is recorded at the next step, late
    assertThat(frozenHanded).extracting(PendingEvent::seq).containsExactly(oldSeq);

    // Frozen past its leases: they and its member row lapse, and a successor claims them all.
    execute("UPDATE outbox_relay_lease SET owner_id = NULL, expires_at = NULL");
    execute("DELETE FROM outbox_relay_member WHERE member_id = 'frozen~1'");
    KeyHolds holds = new KeyHolds();
    LeaseManager leases =
        TestLeaseManagers.create(
            db.dataSource(), dialect, "successor~1", Duration.ofSeconds(1), null, holds);
    leases.heartbeat();
    assertThat(leases.owned()).hasSize(16);
    List<PendingEvent> handed = new ArrayList<>();
    // E's old row is refused for good (too large); once replayed (the limit raised) it goes.
    PublishLoop successor =
        PublishLoopFixture.loop(
            db.dataSource(),
            dialect,
            leases,
            holds,
            new PublishLoopFixture.RecordingSender(
                handed,
                e ->
                    e.seq() == oldSeq
                        ? new PublishResult.Failed(
                            e, "too large", PublishResult.FailureKind.PERMANENT)
                        : new PublishResult.Acked(e, Clock.systemUTC().instant())),
            "late-successor");
    successor.step(); // sends E
    successor.step(); // parks it
    assertThat(stringOf("SELECT status FROM outbox_event")).isEqualTo("DEAD");

    int replayed =
        new JdbcParkedEvents(
                new Jdbc(db.dataSource()),
                dialect,
                OutboxTable.DEFAULT,
                () -> {},
                Clock.systemUTC())
            .replay(List.of(id));
    assertThat(replayed).isEqualTo(1);
    long copySeq = longOf("SELECT seq FROM outbox_event WHERE status = 'PENDING'");
    assertThat(copySeq).isGreaterThan(oldSeq);

    // The frozen owner wakes: its heartbeat finds the leases gone (and with claimedAgain, claims
    // them again once the successor left); then its publishing thread records the late outcome.
    frozenLeases.heartbeat();
    assertThat(frozenLeases.owned()).isEmpty();
    PublishLoop delivering = successor;
    List<PendingEvent> delivered = handed;
    if (claimedAgain) {
      execute("UPDATE outbox_relay_lease SET owner_id = NULL, expires_at = NULL");
      execute("DELETE FROM outbox_relay_member WHERE member_id = 'successor~1'");
      frozenLeases.heartbeat();
      assertThat(frozenLeases.owned()).hasSize(16);
      delivering = frozen;
      delivered = frozenHanded;
    }
    frozen.step();

    assertThat(
            stringOf(
                "SELECT status || ' attempts ' || attempts || ' next ' ||"
                    + " COALESCE(next_attempt_at::text, '-') || ' error ' ||"
                    + " COALESCE(last_error, '-') FROM outbox_event WHERE seq = "
                    + copySeq))
        .as("the replayed copy after the late outcome of the old row")
        .isEqualTo("PENDING attempts 0 next - error -");

    for (int i = 0; i < 5 && delivered.stream().noneMatch(e -> e.seq() == copySeq); i++) {
      delivering.step();
    }
    delivering.finishInFlight();
    assertThat(delivered)
        .extracting(PendingEvent::seq)
        .as("the replayed copy is sent at once by the partition's owner")
        .contains(copySeq);
    assertThat(longOf("SELECT COUNT(*) FROM outbox_event")).as("rows left").isZero();
  }

  private void insert(String key, String type) throws SQLException {
    execute(
        "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, created_at,"
            + " partition_no) VALUES (gen_random_uuid(), 'late', '"
            + key
            + "', '"
            + type
            + "', '\\x30'::bytea, now(), 0)");
  }

  private long longOf(String sql) throws SQLException {
    return Long.parseLong(stringOf(sql));
  }

  private String stringOf(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      assertThat(rs.next()).as("a row for %s", sql).isTrue();
      return rs.getString(1);
    }
  }

  private void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
