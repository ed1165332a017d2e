package dev.outboxkit.relay.internal.delivery;

import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PendingEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * Per-key order across failures. A key is <em>held</em> from the moment one of its events comes
 * back unresolved (failed and due for a retry, or deferred) until that event is acknowledged or
 * parked. While held, no later event of the key is sent: not from the next poll, and not from a
 * batch that was read ahead while the failing one was in flight. The held event itself goes again
 * when it is due; after a failure it goes alone, and its successors follow once it is resolved.
 *
 * <p>State is kept per outbox partition: the polling relay loads it from the rows' {@code attempts}
 * and {@code next_attempt_at} when it claims a lease and drops it with the lease, so it survives a
 * change of owner. Thread-safe: several publishing threads share one instance, each on its own
 * partitions.
 */
public final class KeyHolds {

  /**
   * At most this many waiting keys of one partition are left out of a read in SQL; the rest are
   * filtered in memory, and the polling loop pages past a page of held keys only.
   */
  public static final int MAX_EXCLUDED = 1000;

  private final int maxExcluded;

  /**
   * @param seq the held event's sequence number, or -1 when not yet known (state loaded at lease
   *     claim: the first event of the key read is the held one)
   * @param due when it may be sent again
   * @param alone whether it goes alone (after a failure) or with its key's later events (deferred)
   */
  private record Hold(long seq, Instant due, boolean alone) {}

  /**
   * A partition's held keys, and the generation of its state: a new one each time the state is
   * loaded at a lease claim. A batch read under one generation decides nothing for the next (see
   * {@link Ticket}).
   */
  private static final class Keys extends ConcurrentHashMap<String, Hold> {
    private static final long serialVersionUID = 1L;

    /** 0 for state made on first use (no claim loaded it: CDC, tests). */
    final long generation;

    Keys(long generation) {
      this.generation = generation;
    }
  }

  /**
   * The partitions' generations when a batch was read. A batch can outlive its lease (the process
   * froze with it in flight): another instance then publishes its events and deletes their rows,
   * and this one may claim the partition again, loading its state afresh from the rows, before the
   * late batch's outcome arrives. That outcome must not hold a key on an event whose row is gone
   * (nothing after it would ever be sent) nor select rows read under the old lease: holds, releases
   * and selections for a partition whose generation changed since are left out.
   */
  public static final class Ticket {

    /** For a caller with no leases (CDC): every partition's state is current. */
    public static final Ticket ANY = new Ticket(null);

    private final @Nullable Map<Integer, Long> generations;

    private Ticket(@Nullable Map<Integer, Long> generations) {
      this.generations = generations;
    }

    boolean admits(int partition, Keys keys) {
      return generations == null || generations.getOrDefault(partition, 0L) == keys.generation;
    }
  }

  private static final java.util.concurrent.atomic.AtomicLong GENERATIONS =
      new java.util.concurrent.atomic.AtomicLong();

  private final Map<Integer, Keys> holds = new ConcurrentHashMap<>();

  /** The current generations of {@code partitions}, taken before a batch reads them. */
  public Ticket ticket(Collection<Integer> partitions) {
    Map<Integer, Long> generations = new HashMap<>();
    for (int partition : partitions) {
      Keys keys = holds.get(partition);
      generations.put(partition, keys == null ? 0L : keys.generation);
    }
    return new Ticket(generations);
  }

  /** The partition's state if {@code ticket} is current for it, made on first use; else null. */
  private @Nullable Keys keys(int partition, Ticket ticket) {
    Keys keys = holds.computeIfAbsent(partition, p -> new Keys(0));
    return ticket.admits(partition, keys) ? keys : null;
  }

  public KeyHolds() {
    this(MAX_EXCLUDED);
  }

  /** With a smaller SQL exclusion list, for tests of the paging past held keys. */
  public KeyHolds(int maxExcluded) {
    this.maxExcluded = maxExcluded;
  }

  /** Per partition: the {@code seq} up to which every pending row is of a held key. */
  private final Map<Integer, Long> pagedPast = new ConcurrentHashMap<>();

  /**
   * Where reads of each partition start: past a page that held keys filled, so that more waiting
   * keys than a read can leave out in SQL cannot starve a partition's other keys. This is not a
   * cursor over committed rows: {@code seq} is assigned at insert, so a row up to that {@code seq}
   * may commit after the page was read. The read past therefore leaves out every key that has a
   * pending row up to the position (see {@code OutboxRows#fetch}): the rows it skips are then of
   * held keys, whose events go only after their held event, or of keys none of whose rows it reads;
   * both are read again from the start once a read past sends something or comes back short. A
   * partition that holds more keys than a read leaves out in SQL, and is not read past, gets {@link
   * OutboxRows#OWN_PAGE}: its own page from the start.
   */
  public Map<Integer, Long> readAfter(Collection<Integer> partitions) {
    Map<Integer, Long> after = new HashMap<>();
    for (int partition : partitions) {
      Long seq = pagedPast.get(partition);
      if (seq != null) {
        after.put(partition, seq);
      } else if (crowded(partition)) {
        after.put(partition, OutboxRows.OWN_PAGE);
      }
    }
    return after;
  }

  /**
   * Whether the partition holds more keys than a read leaves out in SQL. The rest of its held keys'
   * rows then come into reads and cannot be sent; in one walk over several partitions in {@code
   * seq} order they could fill the whole read, and the other partitions would wait for those keys'
   * retries. Such a partition is read on a page of its own ({@link OutboxRows#OWN_PAGE}).
   */
  private boolean crowded(int partition) {
    Map<String, Hold> keys = holds.get(partition);
    return keys != null && keys.size() > maxExcluded;
  }

  /**
   * Moves the read position of the partitions read: past a full page of which nothing could be
   * sent, or back to the start after a page with something to send or an empty read.
   *
   * @return whether a read position moved forward (the caller reads again at once)
   */
  public boolean paged(
      Collection<Integer> partitions,
      Collection<Integer> fullPartitions,
      List<PendingEvent> read,
      List<PendingEvent> selected) {
    return paged(partitions, fullPartitions, read, selected, Ticket.ANY);
  }

  /**
   * As {@link #paged(Collection, Collection, List, List)}, for a read made under {@code ticket}:
   * the positions of partitions whose state changed since are left alone.
   */
  public boolean paged(
      Collection<Integer> partitions,
      Collection<Integer> fullPartitions,
      List<PendingEvent> read,
      List<PendingEvent> selected,
      Ticket ticket) {
    Map<Integer, Long> last = new HashMap<>();
    for (PendingEvent row : read) {
      last.merge(row.partition(), row.seq(), Math::max);
    }
    Set<Integer> sending = new HashSet<>();
    for (PendingEvent row : selected) {
      sending.add(row.partition());
    }
    boolean moved = false;
    for (int partition : partitions) {
      if (keys(partition, ticket) == null) {
        continue;
      }
      Long end = last.get(partition);
      if (end != null
          && fullPartitions.contains(partition)
          && !sending.contains(partition)
          && headsKnown(partition)) {
        pagedPast.put(partition, end);
        moved = true;
      } else {
        pagedPast.remove(partition);
      }
    }
    return moved;
  }

  /**
   * Whether every held key of the partition knows its held event. A key loaded at lease claim does
   * not until its first event is read, and that must be its oldest: reading past a page then would
   * let a later event pass for it.
   */
  private boolean headsKnown(int partition) {
    Map<String, Hold> keys = holds.get(partition);
    return keys == null || keys.values().stream().allMatch(h -> h.seq() >= 0);
  }

  /**
   * Forgets everything (the CDC relay starts every batch afresh: its batches hold their events).
   */
  public void clear() {
    holds.clear();
    pagedPast.clear();
  }

  /** Loads a partition's state when its lease is claimed: the keys that failed before. */
  public void load(int partition, Map<String, Instant> retrying) {
    pagedPast.remove(partition);
    Keys keys = new Keys(GENERATIONS.incrementAndGet());
    retrying.forEach((key, due) -> keys.put(key, new Hold(-1, due, true)));
    holds.put(partition, keys);
  }

  /** Forgets a partition whose lease was lost or released. */
  public void drop(int partition) {
    pagedPast.remove(partition);
    holds.remove(partition);
  }

  /** The keys to leave out of the next read: those held until a time still to come. */
  public Map<Integer, List<String>> excluded(Collection<Integer> partitions, Instant now) {
    Map<Integer, List<String>> excluded = new HashMap<>();
    for (int partition : partitions) {
      Map<String, Hold> keys = holds.get(partition);
      if (keys == null || keys.isEmpty()) {
        continue;
      }
      List<String> wait = new ArrayList<>();
      keys.forEach(
          (key, hold) -> {
            if (hold.due().isAfter(now) && wait.size() < maxExcluded) {
              wait.add(key);
            }
          });
      if (!wait.isEmpty()) {
        excluded.put(partition, wait);
      }
    }
    return excluded;
  }

  /** The earliest time a held event becomes due, or {@code null} when no key is held. */
  public @Nullable Instant nextDue() {
    Instant next = null;
    for (Map<String, Hold> keys : holds.values()) {
      for (Hold hold : keys.values()) {
        if (next == null || hold.due().isBefore(next)) {
          next = hold.due();
        }
      }
    }
    return next;
  }

  /** Whether a key is held. */
  public boolean isHeld(int partition, String key) {
    Map<String, Hold> keys = holds.get(partition);
    return keys != null && keys.containsKey(key);
  }

  /**
   * The events to send now, in the order given (which must be {@code seq} order per key): held keys
   * contribute at most their held event, once it is due; other keys everything.
   */
  public List<PendingEvent> select(List<PendingEvent> rows, Instant now) {
    return select(rows, now, Ticket.ANY);
  }

  /**
   * As {@link #select(List, Instant)}, for a batch read under {@code ticket}: rows of a partition
   * whose state changed since (a lease lost and claimed again) are not selected.
   */
  public List<PendingEvent> select(List<PendingEvent> rows, Instant now, Ticket ticket) {
    List<PendingEvent> selected = new ArrayList<>(rows.size());
    Set<String> stopped = new HashSet<>();
    Set<String> following = new HashSet<>();
    for (PendingEvent row : rows) {
      String key = row.key();
      if (stopped.contains(key)) {
        continue;
      }
      if (following.contains(key)) {
        // Behind its deferred event in this same batch: the producer keeps them in order.
        selected.add(row);
        continue;
      }
      Keys keys = keys(row.partition(), ticket);
      if (keys == null) {
        continue;
      }
      Hold hold = keys.get(key);
      if (hold == null && (row.attempts() > 0 || row.nextAttemptAt() != null)) {
        // Failed before, under this or an earlier owner: it goes alone when due.
        Instant due = row.nextAttemptAt() == null ? Instant.EPOCH : row.nextAttemptAt();
        hold = new Hold(row.seq(), due, true);
        keys.put(key, hold);
      }
      if (hold == null) {
        selected.add(row);
        continue;
      }
      if (hold.seq() >= 0 && row.seq() > hold.seq()) {
        // A later event of a held key (read ahead, or read before the hold was known).
        stopped.add(key);
        continue;
      }
      if (hold.seq() >= 0 && row.seq() < hold.seq()) {
        // An older event of the key back from parking (a replay): it may go, but the held event
        // stays held, and nothing after it follows in this batch.
        selected.add(row);
        continue;
      }
      if (hold.seq() < 0) {
        // The first event of the key seen since the state was loaded: it is the held one.
        hold = new Hold(row.seq(), hold.due(), hold.alone());
        keys.put(key, hold);
      }
      if (hold.due().isAfter(now)) {
        stopped.add(key);
        continue;
      }
      selected.add(row);
      if (hold.alone()) {
        stopped.add(key);
      } else {
        following.add(key);
      }
    }
    return selected;
  }

  /** The event was acknowledged: its key is free if it was the held one. */
  void acknowledged(PendingEvent event) {
    acknowledged(event, Ticket.ANY);
  }

  /** The event was parked: its key is free if it was the held one. */
  void parked(PendingEvent event) {
    parked(event, Ticket.ANY);
  }

  /** The event failed and is due again at {@code due}; it goes alone then. */
  void retryLater(PendingEvent event, Instant due) {
    retryLater(event, due, Ticket.ANY);
  }

  /** The event was not sent; it may go again at once, with its key's later events. */
  void deferred(PendingEvent event, Instant now) {
    deferred(event, now, Ticket.ANY);
  }

  /** As {@link #acknowledged(PendingEvent)}, for a batch read under {@code ticket}. */
  void acknowledged(PendingEvent event, Ticket ticket) {
    release(event, ticket);
  }

  /** As {@link #parked(PendingEvent)}, for a batch read under {@code ticket}. */
  void parked(PendingEvent event, Ticket ticket) {
    release(event, ticket);
  }

  /** As {@link #retryLater(PendingEvent, Instant)}, for a batch read under {@code ticket}. */
  void retryLater(PendingEvent event, Instant due, Ticket ticket) {
    hold(event, due, true, ticket);
  }

  /** As {@link #deferred(PendingEvent, Instant)}, for a batch read under {@code ticket}. */
  void deferred(PendingEvent event, Instant now, Ticket ticket) {
    hold(event, now, false, ticket);
  }

  private void hold(PendingEvent event, Instant due, boolean alone, Ticket ticket) {
    Keys keys = keys(event.partition(), ticket);
    if (keys == null) {
      return;
    }
    keys.compute(
        event.key(),
        (key, held) ->
            held != null && held.seq() >= 0 && held.seq() < event.seq()
                ? held // an earlier event of the key is still unresolved: it stays the held one
                : new Hold(event.seq(), due, alone));
  }

  private void release(PendingEvent event, Ticket ticket) {
    Keys keys = holds.get(event.partition());
    if (keys != null && ticket.admits(event.partition(), keys)) {
      keys.computeIfPresent(
          event.key(), (key, held) -> held.seq() < 0 || held.seq() == event.seq() ? null : held);
    }
  }
}
