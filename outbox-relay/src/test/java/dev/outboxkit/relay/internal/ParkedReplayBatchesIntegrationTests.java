package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.outboxkit.relay.BulkResult;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.ParkedFilter;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A replay of parked events in batches ({@link ParkedEvents#MAX_REPLAY_BATCH} a transaction), on a
 * real PostgreSQL: the copies keep the key's order across batches, and when a later batch or the
 * caller's progress callback fails after a batch committed, the relay is still woken for the
 * committed copies and the caller learns what happened, with its own exception kept.
 */
@ServerTest
class ParkedReplayBatchesIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private ParkedEventsFixture events;

  @BeforeEach
  void setUp() throws SQLException {
    events = ParkedEventsFixture.on(db.dataSource());
    events.execute("DELETE FROM outbox_event");
  }

  /**
   * replay(ids) puts the copies back in the order the events were appended ("each copy takes the
   * next seq, and the relay sends a key's events in seq order"), but since e52217e only within each
   * batch of 100: the batches are cut in the order the caller gave the ids. 150 parked events of
   * one key, their ids given newest first (a list shown newest first, or any Set): the batch of the
   * newest 100 is re-appended first, so their copies take lower seq values than the 50 oldest, and
   * the relay publishes the key's events out of order (e50..e149, then e0..e49). Before e52217e the
   * whole call was one transaction, sorted by seq.
   *
   * <p>Review13 finding 1; before the fix it failed 3/3 runs with "[the key's replayed copies, in
   * seq order] expected the append order e0..e149 but was e50..e149, e0..e49". Now every id is put
   * in seq order before the batches are cut.
   */
  @Test
  void aReplayOfMoreThanOneBatchKeepsTheKeysAppendOrder() throws Exception {
    List<UUID> appended = events.appendNumbered(150);
    events.parkAll();
    List<UUID> newestFirst = new ArrayList<>(appended);
    Collections.reverse(newestFirst);

    assertThat(events.parked().replay(newestFirst)).isEqualTo(150);

    List<UUID> inSeqOrder =
        events.ids("SELECT id FROM outbox_event WHERE status = 'PENDING' ORDER BY seq");
    System.out.println(
        "[review13] replayed order: first copy is e"
            + appended.indexOf(inSeqOrder.get(0))
            + ", copy 50 is e"
            + appended.indexOf(inSeqOrder.get(50))
            + ", copy 100 is e"
            + appended.indexOf(inSeqOrder.get(100)));
    assertThat(inSeqOrder).as("the key's replayed copies, in seq order").isEqualTo(appended);
  }

  /**
   * A replay(ids) of 150 ids whose second batch fails: the first batch's 100 copies are committed
   * (and audited OK), the call throws, and onReplay (the polling relay's wake-up) never runs for
   * them: they wait for the next poll (on MySQL/MariaDB, which have no NOTIFY, up to the idle poll
   * interval). The caller also learns nothing of the 100 replayed (the count goes with the
   * exception).
   *
   * <p>Review13 finding 5; before the fix it failed 3/3 runs with "[wake-ups after 100 copies were
   * committed] Expecting actual: 0 to be greater than: 0". Now the relay is woken for the committed
   * batches and the exception says how many of how many were replayed.
   */
  @Test
  void aReplayThatFailsAfterAFirstBatchStillWakesTheRelay() throws Exception {
    AtomicInteger wakeUps = new AtomicInteger();
    ParkedEvents waking = events.parked(wakeUps::incrementAndGet);
    List<UUID> appended = events.appendNumbered(150);
    events.parkAll();
    Throwable thrown;
    refuseTheCopyOfEvent120();
    try {
      thrown = catchThrowable(() -> waking.replay(appended));
    } finally {
      events.execute("ALTER TABLE outbox_event DROP CONSTRAINT review13_refuse");
    }
    long pending = events.count("SELECT count(*) FROM outbox_event WHERE status = 'PENDING'");
    System.out.println(
        "[review13] replay of 150, batch 2 refused: "
            + pending
            + " pending after it, thrown "
            + (thrown == null ? null : thrown.getClass().getSimpleName())
            + ", wake-ups "
            + wakeUps.get());
    assertThat(thrown).as("the failure of batch 2").isNotNull();
    assertThat(pending).as("copies committed by batch 1").isEqualTo(100);
    assertThat(wakeUps.get()).as("wake-ups after 100 copies were committed").isPositive();
    assertThat(thrown.getMessage())
        .as("what the caller is told")
        .contains("Replayed 100 of 150 requested events")
        .contains("remaining 50 were not replayed");
  }

  /**
   * The same for a replay by filter: 150 parked events, batches of 100, the copy of event 120
   * refused. The first batch's copies are committed; the relay must be woken for them and the
   * caller told how many were replayed.
   *
   * <p>Review13 finding 5 too (the replay by filter had the same shape before it).
   */
  @Test
  void aReplayByFilterThatFailsAfterAFirstBatchStillWakesTheRelay() throws Exception {
    AtomicInteger wakeUps = new AtomicInteger();
    ParkedEvents waking = events.parked(wakeUps::incrementAndGet);
    events.appendNumbered(150);
    events.parkAll();
    List<BulkResult> progress = new ArrayList<>();
    Throwable thrown;
    refuseTheCopyOfEvent120();
    try {
      thrown = catchThrowable(() -> waking.replay(ParkedFilter.all(), 100, progress::add));
    } finally {
      events.execute("ALTER TABLE outbox_event DROP CONSTRAINT review13_refuse");
    }
    System.out.println(
        "[review13] replay by filter of 150, batch 2 refused: thrown "
            + (thrown == null ? null : thrown.getMessage())
            + ", wake-ups "
            + wakeUps.get());
    assertThat(thrown).as("the failure of batch 2").isNotNull();
    assertThat(progress).as("committed batches").hasSize(1);
    assertThat(wakeUps.get()).as("wake-ups after 100 copies were committed").isPositive();
    assertThat(thrown.getMessage())
        .as("what the caller is told")
        .contains("1 batch committed (100 of the 100 events they held were replayed)");
  }

  /**
   * bulk() now catches every RuntimeException after a committed batch and throws {@code
   * OutboxStoreException("... N batches committed ..., then one failed ...", new
   * SQLException(DatabaseFailures.reason(e)))}: the original exception is dropped (not a cause, not
   * suppressed, no stack trace), and the message says a batch failed. The caller's own {@code
   * progress} callback runs after each commit, inside that try: a caller that stops a long replay
   * from its callback (a CLI interrupted, an HTTP client gone), or a bug in it, gets an
   * OutboxStoreException saying a batch failed after the batch that did commit, and loses its own
   * exception. The same for any non-SQL failure (a NullPointerException in the scan): the operator
   * gets "SQLException: NullPointerException: ..." without the stack trace that locates it.
   *
   * <p>Review14 of 71c3cf6 (the bulk path's partial failure) found it, written to fail on d420ffe.
   */
  @Test
  void aProgressCallbackThatThrowsIsNotReportedAsAFailedBatchAndKeepsItsException()
      throws Exception {
    events.appendNumbered(150);
    events.parkAll();
    AtomicInteger wakeUps = new AtomicInteger();
    ParkedEvents parked = events.parked(wakeUps::incrementAndGet);
    IllegalStateException stop = new IllegalStateException("stopped by the caller");
    Throwable thrown = replayAllWithACallbackThatThrows(parked, stop);
    System.out.println("[review14] thrown: " + thrown);
    assertThat(wakeUps.get()).as("wake-ups after 100 committed copies").isPositive();
    assertThat(thrown).as("what the caller gets").isNotNull();
    assertThat(ParkedEventsFixture.keeps(thrown, stop))
        .as("the caller's own exception is kept (thrown, as a cause or suppressed): " + thrown)
        .isTrue();
    assertThat(thrown.getMessage())
        .as("no batch failed: the first one committed, then the callback threw")
        .doesNotContain("then one failed");
  }

  /**
   * bc4054f tells the caller's own failure from a failed batch by its cause chain ({@code
   * DatabaseFailures.sqlCause(e) == null}), not by where it was thrown. A progress callback that
   * does database work of its own (it records the progress of a long replay, as an operator tool
   * would, through Spring's {@code JdbcTemplate}: a {@code DataAccessException} whose cause is the
   * driver's {@code SQLException}) and fails after the LAST batch committed is reported as "1 batch
   * committed (…), then one failed; the events after them were not replayed" although every event
   * was replayed and no batch failed, and the caller's exception is replaced by a sanitised copy of
   * its SQL cause (neither thrown, nor a cause, nor suppressed).
   *
   * <p>Review15 of bc4054f (the bulk path rethrows a failure that is not the database's) found it.
   */
  @Test
  void aProgressCallbackFailingWithADatabaseCauseIsNotReportedAsAFailedBatch() throws Exception {
    events.appendNumbered(50);
    events.parkAll();
    AtomicInteger wakeUps = new AtomicInteger();
    ParkedEvents parked = events.parked(wakeUps::incrementAndGet);
    // What spring-jdbc's DataAccessException looks like to this code: an unchecked exception
    // whose cause is the driver's SQLException (the caller's own statement failed).
    IllegalStateException callers =
        new IllegalStateException(
            "could not record the replay's progress",
            new SQLException("relation \"replay_progress\" does not exist", "42P01"));
    Throwable thrown = replayAllWithACallbackThatThrows(parked, callers);
    System.out.println("[review15] thrown: " + thrown);
    assertThat(events.count("SELECT COUNT(*) FROM outbox_event WHERE status = 'PENDING'"))
        .as("every parked event was replayed (one batch of 50, committed)")
        .isEqualTo(50);
    assertThat(thrown).as("what the caller gets").isNotNull();
    assertThat(thrown.getMessage())
        .as("no batch failed: the only one committed, then the callback threw")
        .doesNotContain("then one failed");
    assertThat(ParkedEventsFixture.keeps(thrown, callers))
        .as("the caller's own exception is kept (thrown, as a cause or suppressed): " + thrown)
        .isTrue();
  }

  /**
   * A replay by filter of every parked event, in batches of 100, whose progress callback throws.
   */
  private static Throwable replayAllWithACallbackThatThrows(
      ParkedEvents parked, RuntimeException callers) {
    return catchThrowable(
        () ->
            parked.replay(
                ParkedFilter.all(),
                100,
                (BulkResult progress) -> {
                  throw callers;
                }));
  }

  /** A CHECK added NOT VALID after the events were parked: only the copy of event 120 breaks it. */
  private void refuseTheCopyOfEvent120() throws SQLException {
    events.execute(
        "ALTER TABLE outbox_event ADD CONSTRAINT review13_refuse CHECK (status <> 'PENDING' OR"
            + " convert_from(payload, 'UTF8') <> '{\"n\":120}') NOT VALID");
  }
}
