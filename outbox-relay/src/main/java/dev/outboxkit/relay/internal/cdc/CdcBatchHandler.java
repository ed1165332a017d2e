package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.relay.internal.delivery.DeliveryCore;
import dev.outboxkit.relay.internal.delivery.DeliveryOutcome;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.RecordChangeEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.kafka.connect.source.SourceRecord;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns one Debezium batch of changes into sends and then into a stored position: decode every
 * change, publish the events through the {@link DeliveryCore} until each is acknowledged or parked,
 * check the lease, and only then mark the batch processed, so a crash re-reads at most the batch
 * that was not yet stored. Runs in the engine's thread.
 */
final class CdcBatchHandler {

  private static final Logger log = LoggerFactory.getLogger(CdcBatchHandler.class);

  /** What the handler asks of the relay around it; read on every wait. */
  interface Gate {
    /** Whether the relay is paused: what was read is held back until it resumes or closes. */
    boolean paused();

    /**
     * Hands a batch over unless paused, atomically with {@code pause()}: once that returned, no
     * hand-over starts; {@code null} when paused.
     */
    BatchSender.@Nullable InFlight unlessPaused(Supplier<BatchSender.InFlight> send);

    /** Whether the relay is running or paused, and not closing. */
    boolean open();
  }

  /** Thrown in the engine's thread when this instance may no longer publish. */
  static final class LeaseLost extends RuntimeException {
    LeaseLost(String message) {
      super(message);
    }
  }

  private final RelaySettings settings;
  private final CdcOptions options;
  private final String id;
  private final ChangeDecoder decoder;
  private final CdcRowStore rowStore;
  private final DeliveryCore core;
  private final BatchSender publisher;
  private final CdcLease lease;
  private final CdcMetrics metrics;
  private final Gate gate;
  private final @Nullable DeletesWithOffsets withOffsets;
  private volatile boolean engineStarted = true;
  // Engine thread only: failures recorded on rows before this engine started (attempts and retry
  // time), by row (seq). Not by event id: a replayed event's old insert and its copy share the id,
  // and a restarted engine may read both; each row goes on from its own count.
  private Map<Long, CdcRowStore.EarlierFailure> earlierFailures = Map.of();
  // Engine thread only, kept across engine runs: rows published or parked lately, so a change the
  // change log sends again (a binlog reconnect mid-transaction) is not published again.
  private final SettledChanges settled = new SettledChanges();

  CdcBatchHandler(
      RelaySettings settings,
      CdcOptions options,
      ChangeDecoder decoder,
      CdcRowStore rowStore,
      DeliveryCore core,
      BatchSender publisher,
      CdcLease lease,
      CdcMetrics metrics,
      Gate gate) {
    this(settings, options, decoder, rowStore, core, publisher, lease, metrics, gate, null);
  }

  /**
   * @param withOffsets where a batch's published rows wait to be deleted with the offsets stored
   *     after it, in one statement; {@code null} to delete them before the offsets are stored
   */
  CdcBatchHandler(
      RelaySettings settings,
      CdcOptions options,
      ChangeDecoder decoder,
      CdcRowStore rowStore,
      DeliveryCore core,
      BatchSender publisher,
      CdcLease lease,
      CdcMetrics metrics,
      Gate gate,
      @Nullable DeletesWithOffsets withOffsets) {
    this.withOffsets = withOffsets;
    this.settings = settings;
    this.options = options;
    this.id = settings.instanceId();
    this.decoder = decoder;
    this.rowStore = rowStore;
    this.core = core;
    this.publisher = publisher;
    this.lease = lease;
    this.metrics = metrics;
    this.gate = gate;
  }

  /** Where published rows wait for the offsets, for the engine's offset store; or null. */
  @Nullable DeletesWithOffsets deletesWithOffsets() {
    return withOffsets;
  }

  /**
   * A new engine is about to start: its first batch reads the failures recorded on failed rows, so
   * an event that failed before a restart goes on counting toward its parking, and waits for its
   * row's retry time.
   */
  void engineStarting() {
    engineStarted = true;
  }

  /**
   * The event with the failure recorded on its row before this engine started, if any: its attempts
   * and its retry time, which the {@link DeliveryCore}'s key holds wait for (at most the longest
   * backoff from now, see {@code KeyHolds}) before the event goes again, alone.
   */
  private PendingEvent withEarlierFailure(PendingEvent event) {
    CdcRowStore.EarlierFailure earlier = earlierFailures.remove(event.seq());
    return earlier == null ? event : withEarlierFailure(event, earlier);
  }

  /** {@code event} with the larger count and, when it carries none, the recorded retry time. */
  static PendingEvent withEarlierFailure(PendingEvent event, CdcRowStore.EarlierFailure earlier) {
    int attempts = Math.max(event.attempts(), earlier.attempts());
    Instant next = event.nextAttemptAt() != null ? event.nextAttemptAt() : earlier.nextAttemptAt();
    return attempts == event.attempts() && next == event.nextAttemptAt()
        ? event
        : new PendingEvent(event.seq(), event.event(), attempts, next);
  }

  /**
   * The consumer of one engine run: it publishes only while {@code live} says that very run is
   * running and not being stopped. A batch handed over by a run that was stopped never passes
   * again, not even once a new run started here (which would share this handler's state).
   */
  DebeziumEngine.ChangeConsumer<RecordChangeEvent<SourceRecord>> forRun(BooleanSupplier live) {
    return (records, committer) -> handleBatch(records, committer, live);
  }

  /** Publishes one batch of changes, then lets Debezium store the position after it. */
  void handleBatch(
      List<RecordChangeEvent<SourceRecord>> records,
      DebeziumEngine.RecordCommitter<RecordChangeEvent<SourceRecord>> committer,
      BooleanSupplier live)
      throws InterruptedException {
    if (!live.getAsBoolean()) {
      // A stopped run's batch touches nothing a later run of this handler relies on.
      throw new LeaseLost("CDC relay " + id + " stopped the run of engine " + options.name());
    }
    metrics.batchRead();
    List<ChangeDecoder.Change> changes = new ArrayList<>();
    Set<UUID> inBatch = new HashSet<>();
    int resent = 0;
    for (RecordChangeEvent<SourceRecord> record : records) {
      SourceRecord r = record.record();
      metrics.commitSeen(ChangeDecoder.commitMillis(r));
      ChangeDecoder.Change change;
      try {
        change = decoder.decode(r);
      } catch (RuntimeException e) {
        // A row that cannot be read as an event must not stop the stream (nor restart the engine
        // in a loop): it is parked, and the rest flows.
        rowStore.parkUndecodable(r, e);
        change = null;
      }
      if (change == null) {
        continue;
      }
      if (settled.contains(change.event())
          || (!inBatch.add(change.event().event().id()) && sentAgainInBatch(changes, change))) {
        // The change log sent this row's insert again (see SettledChanges): it was published or
        // parked already, or it is in this batch once already.
        resent++;
        continue;
      }
      changes.add(change);
    }
    if (resent > 0) {
      log.info(
          "CDC relay {} skipped {} change(s) of engine {} that the change log sent again (a"
              + " binlog reconnect in the middle of a transaction, or an engine restart reading"
              + " again what this relay sent); they were published or parked already",
          id,
          resent,
          options.name());
    }
    if (engineStarted) {
      engineStarted = false;
      earlierFailures = new HashMap<>(rowStore.failuresSoFar());
    }
    if (!changes.isEmpty()) {
      metrics.inFlight(
          changes.stream().mapToLong(ChangeDecoder.Change::commitMillis).min().orElse(0));
      List<Long> published =
          publish(
              changes.stream()
                  .map(ChangeDecoder.Change::event)
                  .map(this::withEarlierFailure)
                  .toList(),
              live);
      if (options.deletePublished() && !published.isEmpty()) {
        if (withOffsets != null) {
          // Deleted by the statement that stores the position after this batch (one round trip
          // and one transaction for both); the rows are published either way.
          withOffsets.defer(published);
        } else {
          rowStore.markPublished(published);
        }
      }
    }
    try {
      requireLease(live);
      for (RecordChangeEvent<SourceRecord> record : records) {
        committer.markProcessed(record);
      }
      committer.markBatchFinished();
    } finally {
      // What the offsets' statement did not delete (it failed, the lease was lost, Debezium did
      // not store the offsets): deleted on its own, as without the one statement.
      List<Long> left = withOffsets == null ? null : withOffsets.take();
      if (left != null) {
        rowStore.markPublished(left);
      }
    }
    metrics.settled();
  }

  /** Whether {@code change}'s row (same id and seq) is among {@code changes} already. */
  private static boolean sentAgainInBatch(
      List<ChangeDecoder.Change> changes, ChangeDecoder.Change change) {
    PendingEvent e = change.event();
    for (ChangeDecoder.Change c : changes) {
      if (c.event().seq() == e.seq() && c.event().event().id().equals(e.event().id())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Sends until every event is acknowledged or parked, with the same decisions as the polling relay
   * ({@link DeliveryCore}): a failing event holds back the later events of its key, retried with
   * backoff and jitter, and is parked after its attempts; other keys of the batch go on. A broker
   * outage or an access error counts no attempt and opens the breaker. The position is stored only
   * once the whole batch is settled.
   *
   * @return the sequence numbers of the acknowledged events
   */
  private List<Long> publish(List<PendingEvent> batch, BooleanSupplier live)
      throws InterruptedException {
    // Holds left by a batch cut short (a lost lease) would stop this one's events for good.
    core.holds().clear();
    List<Long> acked = new ArrayList<>();
    List<PendingEvent> todo = new ArrayList<>(batch);
    while (!todo.isEmpty()) {
      while (gate.paused()) {
        if (!gate.open()) {
          // Closed while paused: what was held back stays unpublished (and unmarked) for the next
          // owner; leaving the wait here would send it between close() and the engine's stop.
          throw new LeaseLost("CDC relay " + id + " was closed while paused");
        }
        requireLease(live);
        Thread.sleep(50);
      }
      requireLease(live);
      if (!core.tryAcquire()) {
        Thread.sleep(settings.maxPollInterval().toMillis());
        continue;
      }
      List<PendingEvent> selected;
      try {
        selected = core.select(todo);
      } catch (RuntimeException | Error e) {
        core.release(); // as below (an Error too): the permission was not used for a send
        throw e;
      }
      if (selected.isEmpty()) {
        core.release();
        Instant due = core.holds().nextDue();
        long wait = due == null ? 10 : Duration.between(settings.clock().instant(), due).toMillis();
        Thread.sleep(Math.max(10, Math.min(wait, 1000)));
        continue;
      }
      long started = System.nanoTime();
      List<PublishResult> results;
      try {
        // The lease is asked again before each event, as in polling: a hand-over that outlives
        // the send window (a full buffer, the process paused in the middle of it) stops there,
        // and what was not handed over comes back deferred (then the lease check below ends it).
        BatchSender.InFlight inFlight =
            gate.unlessPaused(
                () ->
                    publisher.send(
                        selected, () -> live.getAsBoolean() && lease.heldFor(sendWindow())));
        if (inFlight == null) {
          core.release(); // paused between the wait above and the hand-over: wait again
          continue;
        }
        results = inFlight.await();
      } catch (RuntimeException | Error e) {
        // Or the breaker's trial permission would be gone for good: this relay survives the end
        // of its engine (an Error on the publishing thread ends only the engine), takes the lease
        // again later, and its next engine would wait for a permission forever. Rethrown as is.
        core.release();
        throw e;
      }
      DeliveryOutcome outcome = core.decide(results, System.nanoTime() - started);
      // By row (seq), not by event id: a replayed event's old insert and its copy share the id and
      // may come in one batch (an engine re-reading from before the old insert); settling one must
      // not take the other out of the batch unsent (its position would be stored: never read
      // again).
      Map<Long, PendingEvent> replaced = new HashMap<>();
      Set<Long> done = new HashSet<>();
      for (PendingEvent e : outcome.acked()) {
        acked.add(e.seq());
        done.add(e.seq());
        settled.settled(e);
      }
      for (DeliveryOutcome.Failure f : outcome.parked()) {
        rowStore.park(f.event(), f.error(), f.attempts());
        done.add(f.event().seq());
        settled.settled(f.event());
      }
      for (DeliveryOutcome.Failure f : outcome.retries()) {
        replaced.put(f.event().seq(), f.updated());
      }
      rowStore.recordRetries(outcome.retries());
      List<PendingEvent> next = new ArrayList<>(todo.size());
      for (PendingEvent e : todo) {
        if (!done.contains(e.seq())) {
          next.add(replaced.getOrDefault(e.seq(), e));
        }
      }
      todo = next;
    }
    return acked;
  }

  /**
   * How long the lease must still last for a send to start: the producer's delivery timeout plus
   * half a heartbeat, so a deposed engine's records are acknowledged or given up before a successor
   * may take over.
   */
  private Duration sendWindow() {
    return settings.sendTimeout().plus(settings.heartbeatInterval().dividedBy(2));
  }

  private void requireLease(BooleanSupplier live) throws InterruptedException {
    // A send starts only while the lease outlives it (see sendWindow). A renewal that is late
    // (not failed) is waited for, up to the lease's end.
    Duration window = sendWindow();
    while (true) {
      if (!lease.validByTtl() || !live.getAsBoolean()) {
        throw new LeaseLost(
            "CDC relay " + id + " no longer holds the lease of engine " + options.name());
      }
      if (lease.heldFor(window)) {
        return;
      }
      Thread.sleep(10);
    }
  }
}
