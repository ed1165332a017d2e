package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.ReadFloor;
import dev.outboxkit.relay.internal.delivery.DeliveryOutcome;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Adapts how many of the instance's publishing threads read to the backlog, when the number of
 * threads was left at its default: all {@link ThreadScaling#max()} threads run from the start, but
 * only the first {@code active} of them get partitions ({@code partition % active == slot}); the
 * others find nothing to read and wait in their idle poll, which costs no query.
 *
 * <p>Per-key order across a change: a change of {@code active} moves partitions between threads, so
 * it is applied only when no batch is open (none read, in flight or read ahead, on any thread).
 * Once a change is wanted, no new batch begins; the open ones are acknowledged, recorded and ended,
 * and the last {@link #endBatch} applies the change and wakes every thread. A partition's next
 * batch is thus read, on whichever thread, after its previous batch's rows were deleted or held,
 * exactly as for the one thread before. The pause is one batch's acknowledgement, once per change;
 * changes are at least {@link ThreadScaling#GROW_AFTER} apart.
 *
 * <p>Leases are untouched: this wraps the lease manager, asks it for the partitions of a slot under
 * the current count, and passes {@link #stillOwns} and {@link #endBatch} through.
 */
final class PublishSlots implements PartitionLeases {

  private static final Logger log = LoggerFactory.getLogger(PublishSlots.class);

  private final PartitionLeases leases;
  private final ThreadScaling scaling;
  private final LongSupplier nanoTime;
  private final Runnable wakeAll;
  private final String instance;

  private final Object lock = new Object();
  private int active = 1;
  private int wanted = 1;

  /** Batches begun and not ended yet, on all threads. */
  private int open;

  PublishSlots(
      PartitionLeases leases,
      ThreadScaling scaling,
      LongSupplier nanoTime,
      Runnable wakeAll,
      String instance) {
    this.leases = leases;
    this.scaling = scaling;
    this.nanoTime = nanoTime;
    this.wakeAll = wakeAll;
    this.instance = instance;
  }

  /** How many threads to start: the most that may get partitions. */
  int max() {
    return scaling.max();
  }

  /** How many threads get partitions now. */
  int active() {
    synchronized (lock) {
      return active;
    }
  }

  /**
   * The partitions of {@code slot} under the current number of active threads ({@code slots}, the
   * number of threads started, is not used); none while a change waits for open batches to end, or
   * when the slot is not active.
   */
  @Override
  public Set<Integer> beginBatch(int slot, int slots) {
    synchronized (lock) {
      if (wanted != active || slot >= active) {
        return Set.of();
      }
      Set<Integer> partitions = leases.beginBatch(slot, active);
      if (!partitions.isEmpty()) {
        open++;
      }
      return partitions;
    }
  }

  @Override
  public boolean stillOwns(Set<Integer> partitions) {
    return leases.stillOwns(partitions);
  }

  @Override
  public void endBatch(Set<Integer> partitions) {
    leases.endBatch(partitions);
    if (partitions.isEmpty()) {
      return;
    }
    boolean changed;
    synchronized (lock) {
      open--;
      changed = applyWhenQuiet();
    }
    if (changed) {
      wakeAll.run();
    }
  }

  /** Records a read's outcome: {@code full} when a partition had more rows than the read took. */
  void read(boolean full) {
    boolean changed;
    synchronized (lock) {
      // A read that ends while a change waits for the open batches says nothing about the new
      // count; the policy sees only reads made under the count in force.
      if (wanted == active) {
        wanted = scaling.afterRead(active, full, nanoTime.getAsLong());
      }
      changed = applyWhenQuiet();
    }
    if (changed) {
      wakeAll.run();
    }
  }

  /** Applies a wanted change once no batch is open; call under the lock. */
  private boolean applyWhenQuiet() {
    if (wanted == active || open > 0) {
      return false;
    }
    log.debug("Outbox relay {}: {} publishing threads read (were {})", instance, wanted, active);
    active = wanted;
    return true;
  }

  /**
   * {@code store}, reporting every read's outcome to {@link #read}, and keeping the bytes all
   * threads hold within {@code batchBytes} together: each active thread gets an equal share of it
   * (a publishing thread passes its own budget, the whole of {@code batchBytes} less its batch in
   * flight; this takes off what the other threads' shares need). The count changes only while no
   * batch is open, so the shares never overlap. A read cut short by its share is not full, so a
   * backlog of large events does not add threads that would split the budget further.
   */
  PollingStore observing(PollingStore store, long batchBytes) {
    return new PollingStore() {
      @Override
      public OutboxRows.Fetched fetch(
          Set<Integer> partitions,
          int perPartition,
          Map<Integer, List<String>> excluded,
          List<PendingEvent> inFlight,
          Map<Integer, Long> after,
          long maxBytes)
          throws SQLException {
        return fetch(
            partitions, perPartition, excluded, inFlight, after, maxBytes, ReadFloor.off());
      }

      @Override
      public OutboxRows.Fetched fetch(
          Set<Integer> partitions,
          int perPartition,
          Map<Integer, List<String>> excluded,
          List<PendingEvent> inFlight,
          Map<Integer, Long> after,
          long maxBytes,
          ReadFloor floor)
          throws SQLException {
        long others = batchBytes - batchBytes / active();
        // The first row always comes, so a share used up still reads one row.
        long share = Math.max(1, maxBytes - others);
        OutboxRows.Fetched fetched =
            store.fetch(partitions, perPartition, excluded, inFlight, after, share, floor);
        read(fetched.more() && !fetched.cutByBytes());
        return fetched;
      }

      @Override
      public void record(DeliveryOutcome outcome) throws SQLException {
        store.record(outcome);
      }

      @Override
      public Set<Long> pending(java.util.Collection<Long> seqs) throws SQLException {
        return store.pending(seqs);
      }
    };
  }
}
