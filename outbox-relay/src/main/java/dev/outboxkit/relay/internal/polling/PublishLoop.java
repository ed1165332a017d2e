package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PauseSwitch;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.ReadFloor;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.relay.internal.delivery.DeliveryCore;
import dev.outboxkit.relay.internal.delivery.DeliveryOutcome;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The publishing thread: read a batch of the owned partitions, send it, wait for the
 * acknowledgements, let the {@link DeliveryCore} decide, record the decisions. Reading the next
 * batch overlaps with waiting for the broker; sending never does, so at most one batch is
 * unacknowledged, and a batch read ahead is filtered by the key holds only after the previous
 * batch's outcome is known: a later event of a key whose event failed or was deferred is never sent
 * before it.
 *
 * <p>Memory is bounded by bytes as well as rows: the batch in flight and the batch read ahead share
 * {@link Pacing#batchBytes}; a read stops at what is left of it (its first row always comes), and
 * no read ahead starts once the batch in flight used it up.
 *
 * <p>Batch size adapts to the backlog: full reads double the next read's size up to {@link
 * Pacing#maxBatchSize} (fewer, larger reads, deletes and commits while draining); a read that is
 * not full brings it back to {@link Pacing#batchSize}. The crash duplicate bound is the larger
 * size.
 *
 * <p>Waiting: a full batch is followed by the next at once; after an empty poll the wait starts at
 * the minimum poll interval and doubles up to the maximum, unless a wake-up signal ends it.
 */
final class PublishLoop implements Runnable {

  private static final Logger log = LoggerFactory.getLogger(PublishLoop.class);

  /**
   * How much to read and how long to wait between empty polls; {@code batchBytes} bounds the bytes
   * of the batch in flight and the one read ahead together. A read asks for {@code batchSize}
   * events; while reads come back full (a backlog) the next asks for twice as many, up to {@code
   * maxBatchSize}, and after a read that is not full it asks for {@code batchSize} again.
   */
  record Pacing(
      int batchSize,
      int maxBatchSize,
      long batchBytes,
      Duration minPollInterval,
      Duration maxPollInterval) {

    Pacing {
      if (maxBatchSize < batchSize) {
        throw new IllegalArgumentException(
            "maxBatchSize " + maxBatchSize + " is below batchSize " + batchSize);
      }
    }

    /** A fixed batch size. */
    Pacing(int batchSize, Duration minPollInterval, Duration maxPollInterval) {
      this(batchSize, batchSize, RelayDefaults.BATCH_BYTES, minPollInterval, maxPollInterval);
    }
  }

  private final PollingStore store;
  private final PartitionLeases leases;
  private final DeliveryCore core;
  private final BatchSender sender;
  private final WakeUpSignal signal;
  private final BooleanSupplier running;
  private final PauseSwitch pause;
  private final Pacing pacing;
  private final int slot;
  private final int slots;
  private Duration idleWait;

  /** Events the next read asks for: grows under a backlog, see {@link Pacing}. */
  private int batchTarget;

  /** Where this thread's seq-order read starts (this thread's alone). */
  private final ReadFloor floor;

  PublishLoop(
      PollingStore store,
      PartitionLeases leases,
      DeliveryCore core,
      BatchSender sender,
      WakeUpSignal signal,
      BooleanSupplier running,
      PauseSwitch pause,
      Pacing pacing,
      int slot,
      int slots) {
    this(store, leases, core, sender, signal, running, pause, pacing, slot, slots, () -> false);
  }

  /**
   * @param floorEnabled whether the read may start at a floor now (see {@link ReadFloor}); shared
   *     by the relay's threads, asked before every read
   */
  PublishLoop(
      PollingStore store,
      PartitionLeases leases,
      DeliveryCore core,
      BatchSender sender,
      WakeUpSignal signal,
      BooleanSupplier running,
      PauseSwitch pause,
      Pacing pacing,
      int slot,
      int slots,
      BooleanSupplier floorEnabled) {
    this.floor = new ReadFloor(floorEnabled);
    this.store = store;
    this.leases = leases;
    this.core = core;
    this.sender = sender;
    this.signal = signal;
    this.running = running;
    this.pause = pause;
    this.pacing = pacing;
    this.slot = slot;
    this.slots = slots;
    this.idleWait = pacing.minPollInterval();
    this.batchTarget = pacing.batchSize();
  }

  DeliveryCore core() {
    return core;
  }

  /** A batch read from the outbox, its partitions marked in flight. */
  private record Read(
      List<PendingEvent> rows,
      Set<Integer> partitions,
      boolean more,
      Set<Integer> full,
      boolean cut,
      long reloads) {

    /**
     * The partitions whose read position the read moves: all read, or when the byte budget cut it
     * short, those it reached (the others were not read, and keep their position).
     */
    Set<Integer> paged() {
      if (!cut) {
        return partitions;
      }
      Set<Integer> reached = new java.util.HashSet<>(full);
      rows.forEach(row -> reached.add(row.partition()));
      return reached;
    }
  }

  /** A batch handed to the producer, awaiting acknowledgements. */
  private record InFlight(
      BatchSender.InFlight sending, Set<Integer> partitions, long started, boolean more) {}

  private @Nullable InFlight current;

  @Override
  public void run() {
    try {
      while (running.getAsBoolean()) {
        boolean more;
        try {
          more = step();
        } catch (SQLException | RuntimeException e) {
          floor.reset(); // a reconnect, a failover: start at the head again
          core.noteError(e.toString());
          log.warn(
              "Outbox relay batch failed; retrying after {}: {}",
              pacing.maxPollInterval(),
              e.toString());
          idleWait = pacing.maxPollInterval();
          more = false;
        }
        if (!more && running.getAsBoolean()) {
          idle();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      finishInFlight();
    }
  }

  /** On stop: the batch already handed to the producer is awaited and recorded. */
  void finishInFlight() {
    InFlight last = current;
    current = null;
    if (last != null) {
      try {
        complete(last);
      } catch (SQLException | RuntimeException e) {
        log.warn("Could not finish the last batch; its events are sent again: {}", e.toString());
      }
    }
  }

  private void idle() throws InterruptedException {
    if (signal.await(idleWait)) {
      idleWait = pacing.minPollInterval();
    } else {
      Duration doubled = idleWait.multipliedBy(2);
      idleWait =
          doubled.compareTo(pacing.maxPollInterval()) > 0 ? pacing.maxPollInterval() : doubled;
    }
  }

  /**
   * One step of the pipeline; returns whether to go on without waiting. With a batch in flight, the
   * next batch is read while the broker acknowledges it (leaving the in-flight events out), then
   * the in-flight batch's outcome is decided and recorded, and only then is the next one filtered
   * by the key holds and sent.
   */
  boolean step() throws SQLException {
    InFlight done = current;
    if (done == null) {
      if (pause.paused()) {
        return false;
      }
      if (!core.tryAcquire()) {
        idleWait = pacing.maxPollInterval();
        return false;
      }
      Read read;
      try {
        read = read(List.of());
      } catch (SQLException | RuntimeException e) {
        core.release(); // or the breaker's trial permission would be gone for good
        throw e;
      }
      if (read == null) {
        core.release();
        return false;
      }
      current = send(read, true);
      return current != null;
    }
    current = null;
    Read next = null;
    // Read ahead only when the outbox has a backlog; otherwise completing first and then reading
    // fresh finds the same rows and keeps the cycle short, which is what latency needs.
    if (done.more() && !pause.paused()) {
      try {
        next = read(done.sending().batch());
      } catch (SQLException | RuntimeException e) {
        log.debug("Could not read ahead; the next poll reads again", e);
      }
    }
    try {
      complete(done);
    } catch (SQLException | RuntimeException e) {
      if (next != null) {
        leases.endBatch(next.partitions());
      }
      throw e;
    }
    idleWait = pacing.minPollInterval();
    if (next == null) {
      return done.more();
    }
    if (next.reloads() != core.holds().reloads()) {
      // A lease was claimed (or lost) while the outcome was recorded: the holds the read ahead
      // would be selected with may not know that outcome's failures (nor its deferrals, which are
      // not written to the rows). Read again, at once.
      leases.endBatch(next.partitions());
      return true;
    }
    current = send(next, false);
    return current != null || next.more() || next.reloads() != core.holds().reloads();
  }

  private @Nullable Read read(List<PendingEvent> inFlight) throws SQLException {
    // The batch in flight and the one read ahead share the byte budget; a fresh read has it all
    // (its first row always fits).
    long budget = pacing.batchBytes();
    for (PendingEvent event : inFlight) {
      budget -= OutboxRows.bytes(event);
    }
    if (budget <= 0) {
      return null;
    }
    long reloads = core.holds().reloads();
    Set<Integer> partitions = leases.beginBatch(slot, slots);
    if (partitions.isEmpty()) {
      return null;
    }
    try {
      int perPartition = Math.max(1, -Math.floorDiv(-batchTarget, partitions.size()));
      Instant now = core.now();
      Map<Integer, Long> after = core.holds().readAfter(partitions);
      floor.scope(reloads);
      OutboxRows.Fetched fetched =
          store.fetch(
              partitions,
              perPartition,
              core.holds().excluded(partitions, now),
              inFlight,
              after,
              budget,
              floor);
      if (inFlight.isEmpty()) {
        freeHoldsOnResolved(
            core.holds().absentDueHeads(complete(partitions, after, fetched), fetched.rows(), now));
      }
      // Only a read that every row limit cut (not the byte budget) says the next may be larger.
      batchTarget =
          fetched.more() && !fetched.cutByBytes()
              ? Math.min(pacing.maxBatchSize(), batchTarget * 2)
              : fetched.cutByBytes() ? batchTarget : pacing.batchSize();
      if (fetched.rows().isEmpty()) {
        core.holds().paged(partitions, fetched.fullPartitions(), List.of(), List.of());
        leases.endBatch(partitions);
        return null;
      }
      return new Read(
          fetched.rows(),
          partitions,
          fetched.more(),
          fetched.fullPartitions(),
          fetched.cutByBytes(),
          reloads);
    } catch (SQLException | RuntimeException e) {
      leases.endBatch(partitions);
      throw e;
    }
  }

  /**
   * The partitions that a read with nothing in flight read completely: from their start (not past a
   * page of held keys), not up to the row limit, and not cut short by the byte budget. Every
   * pending row of such a partition is in the read but those of keys whose retry is still to come.
   */
  private static Set<Integer> complete(
      Set<Integer> partitions, Map<Integer, Long> after, OutboxRows.Fetched fetched) {
    if (fetched.cutByBytes()) {
      return Set.of();
    }
    Set<Integer> complete = new java.util.HashSet<>(partitions);
    complete.removeAll(fetched.fullPartitions());
    after.forEach(
        (partition, seq) -> {
          if (seq != OutboxRows.OWN_PAGE) {
            complete.remove(partition);
          }
        });
    return complete;
  }

  private @Nullable InFlight send(Read read, boolean permitted) {
    List<PendingEvent> batch;
    try {
      List<PendingEvent> first = select(read, permitted);
      batch = freeHoldsOnResolvedEvents(read.rows()) ? select(read, permitted) : first;
      if (!permitted && read.reloads() != core.holds().reloads()) {
        // A read ahead selected with holds loaded while it waited (see step): given up. Checked
        // after the selection, so that a claim landing between step's check and the selection
        // is seen too; one landing later does not change what was selected. The selection left
        // the loaded holds as they were (KeyHolds.selectReadAhead).
        leases.endBatch(read.partitions());
        return null;
      }
      // Past a page of held keys only, the next poll (after the usual idle wait) reads on.
      core.holds().paged(read.paged(), read.full(), read.rows(), batch);
    } catch (RuntimeException e) {
      // Or the partitions would stay in flight for good (never drained, so never handed to
      // another instance) and a half-open breaker would have lost its trial permission.
      if (permitted) {
        core.release();
      }
      leases.endBatch(read.partitions());
      throw e;
    }
    boolean sendable = !batch.isEmpty() && leases.stillOwns(read.partitions());
    boolean permission = permitted || (sendable && core.tryAcquire());
    BatchSender.InFlight sending = null;
    if (sendable && permission) {
      // Checked again here, under the pause barrier: a batch read before pause() returned is not
      // sent after it.
      try {
        // The leases are asked again before each event: a hand-over that outlives them (the
        // process paused in the middle of it) stops there.
        sending =
            pause.unlessPaused(() -> sender.send(batch, () -> leases.stillOwns(read.partitions())));
      } catch (RuntimeException e) {
        core.release();
        leases.endBatch(read.partitions());
        throw e;
      }
    }
    if (sending == null) {
      if (permission) {
        core.release();
      } else if (sendable) {
        idleWait = pacing.maxPollInterval();
      }
      leases.endBatch(read.partitions());
      return null;
    }
    return new InFlight(sending, read.partitions(), System.nanoTime(), read.more());
  }

  /**
   * The events of a read to send now: a fresh read's by the holds as they are, a read ahead's only
   * under the holds it was read with (see {@link KeyHolds#selectReadAhead}).
   */
  private List<PendingEvent> select(Read read, boolean fresh) {
    return fresh ? core.select(read.rows()) : core.selectReadAhead(read.rows(), read.reloads());
  }

  /**
   * Frees the keys held on events that are no longer pending (see {@link KeyHolds#unseenHeads});
   * returns whether any was freed. Best effort: when the table cannot be asked, the holds stay and
   * the next read asks again.
   */
  private boolean freeHoldsOnResolvedEvents(List<PendingEvent> rows) {
    return freeHoldsOnResolved(core.holds().unseenHeads(rows));
  }

  private boolean freeHoldsOnResolved(List<KeyHolds.Held> unseen) {
    if (unseen.isEmpty()) {
      return false;
    }
    // A hold on no known event (loaded at claim) is never pending by seq: no need to ask.
    List<Long> seqs = unseen.stream().filter(KeyHolds.Held::known).map(KeyHolds.Held::seq).toList();
    Set<Long> pending;
    try {
      pending = seqs.isEmpty() ? Set.of() : store.pending(seqs);
    } catch (SQLException | RuntimeException e) {
      // Best effort: a read must not fail for it (the other keys' events go on).
      log.debug("Could not check the held events; the next read asks again", e);
      return false;
    }
    boolean freed = false;
    // A key's held event comes with the events queued behind it (KeyHolds#unseenHeads): one line
    // of the log per key, not one per event.
    Map<HeldKey, List<Long>> gone = new java.util.LinkedHashMap<>();
    for (KeyHolds.Held held : unseen) {
      if (!held.known()) {
        log.info(
            "Outbox relay: key {} of outbox partition {} was held since the lease was claimed, and"
                + " a complete read of the partition has none of its events (published or parked"
                + " elsewhere); the key goes on from its next unresolved event",
            held.key(),
            held.partition());
        core.holds().resolved(held);
        freed = true;
      } else if (!pending.contains(held.seq())) {
        gone.computeIfAbsent(new HeldKey(held.partition(), held.key()), k -> new ArrayList<>())
            .add(held.seq());
        core.holds().resolved(held);
        freed = true;
      }
    }
    gone.forEach(
        (key, freedSeqs) ->
            log.info(
                "Outbox relay: key {} of outbox partition {} was held on or behind {} event(s) that"
                    + " are no longer pending (published or parked elsewhere), seq {} to {}; the key"
                    + " goes on from its next unresolved event",
                key.key(),
                key.partition(),
                freedSeqs.size(),
                freedSeqs.get(0),
                freedSeqs.get(freedSeqs.size() - 1)));
    return freed;
  }

  private record HeldKey(int partition, String key) {}

  private void complete(InFlight batch) throws SQLException {
    try {
      DeliveryOutcome outcome =
          core.decide(batch.sending().await(), System.nanoTime() - batch.started());
      store.record(outcome);
      // A retry that found no pending row (another instance published it while this batch was
      // late) would hold its key until the retry is due, for nothing.
      freeHoldsOnResolved(
          outcome.retries().stream()
              .map(DeliveryOutcome.Failure::event)
              .map(e -> new KeyHolds.Held(e.partition(), e.key(), e.seq()))
              .toList());
    } finally {
      leases.endBatch(batch.partitions());
    }
  }
}
