package dev.outboxkit.relay.internal.delivery;

import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PendingEvent;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
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

  /** The {@code readWith} of a {@link #select} without the check of {@link #selectReadAhead}. */
  private static final long ANY_STATE = -1;

  /**
   * @param seq the held event's sequence number, or -1 when not yet known (state loaded at lease
   *     claim: the first event of the key read is the held one)
   * @param due when it may be sent again
   * @param alone whether it goes alone (after a failure) or with its key's later events (deferred)
   * @param taken the retry time read from the held event's row that {@code due} was last set from
   *     (bounded, see {@link #bounded}), or {@code null}: the same time read again changes nothing,
   *     so reading a row again and again while it waits does not push the bound on
   * @param behind the key's later events that came back unresolved too (failed or deferred behind
   *     it), by {@code seq}: the next of them becomes the held one if this one is resolved
   *     elsewhere ({@link #resolved}). Changed only inside the holds map's {@code compute}.
   */
  private record Hold(
      long seq,
      Instant due,
      boolean alone,
      @Nullable Instant taken,
      java.util.TreeMap<Long, Hold> behind) {
    Hold(long seq, Instant due, boolean alone) {
      this(seq, due, alone, null, new java.util.TreeMap<>());
    }

    Hold(long seq, Instant due, boolean alone, @Nullable Instant taken) {
      this(seq, due, alone, taken, new java.util.TreeMap<>());
    }
  }

  private final Map<Integer, Map<String, Hold>> holds = new ConcurrentHashMap<>();

  /**
   * The longest wait a retry time read from a row may impose: the relay's longest backoff ({@code
   * retry.max-interval}). A row's {@code next_attempt_at} was written by the clock of whichever
   * instance recorded the failure; one that runs ahead of this one would otherwise hold the key for
   * as long as the two clocks differ.
   */
  private final Duration longestRetryWait;

  /** This instance's clock, for the retry times loaded at lease claim ({@link #load}). */
  private final Clock clock;

  /**
   * At most this many bounds are remembered ({@link #bounds}); a retry time cut short while they
   * are all taken is bounded from its read only, as before review21 F2, and room is made at the
   * next claim or clear, not by a scan per time read (review23 R3). About 200 bytes each.
   */
  static final int MAX_BOUNDS = 10_000;

  /** A retry time read from a pending row of {@code key} in {@code partition}. */
  private record RowTime(int partition, String key, Instant at) {}

  /**
   * The bound each retry time that {@link #bounded} cut short was given at this instance's first
   * read of it (review21 F2). Kept apart from the partitions' holds, which every lease claim
   * replaces ({@link #drop}, {@link #load}) and the CDC relay clears per batch and engine restart:
   * taken from the holds alone, the bound started again at each, and a partition claimed again more
   * often than the longest backoff kept a key whose row time came from a clock ahead waiting for
   * the whole difference of the clocks. Only times cut short enter it, per key and time, not per
   * event: a lease claim loads a key's earliest retry time without its event, and events of a key
   * failed together with one time share its first read, whether or not they are read together
   * (review24: forgetting the bound when the first of them was acknowledged made each later page or
   * batch wait a longest backoff again). A bound is forgotten at the first claim or clear after its
   * row time has come ({@link #forgetPassedBounds}; that time is due without it) and, only when
   * {@link #MAX_BOUNDS} are kept, a longest backoff after the bound passed. A time within the
   * longest backoff is never looked up here ({@link #bound}).
   */
  private final Map<RowTime, Instant> bounds = new ConcurrentHashMap<>();

  /** With the default longest backoff and the system clock, for tests. */
  public KeyHolds() {
    this(MAX_EXCLUDED);
  }

  /** With a smaller SQL exclusion list, for tests of the paging past held keys. */
  public KeyHolds(int maxExcluded) {
    this(maxExcluded, RelayDefaults.RETRY_MAX_INTERVAL, Clock.systemUTC());
  }

  /**
   * @param longestRetryWait the relay's longest retry backoff: a retry time read from a row is not
   *     waited for beyond this instance's now plus this
   * @param clock this instance's clock, the one the relay's selections are made by
   */
  public KeyHolds(Duration longestRetryWait, Clock clock) {
    this(MAX_EXCLUDED, longestRetryWait, clock);
  }

  /** {@link #KeyHolds(Duration, Clock)} with a smaller SQL exclusion list. */
  public KeyHolds(int maxExcluded, Duration longestRetryWait, Clock clock) {
    if (longestRetryWait.isNegative()) {
      throw new IllegalArgumentException(
          "longestRetryWait must not be negative, not " + longestRetryWait);
    }
    this.maxExcluded = maxExcluded;
    this.longestRetryWait = longestRetryWait;
    this.clock = clock;
  }

  /** Per partition: the {@code seq} up to which every pending row is of a held key. */
  private final Map<Integer, Long> pagedPast = new ConcurrentHashMap<>();

  /** Counts the partitions' state being replaced ({@link #load}, {@link #drop}, {@link #clear}). */
  private final AtomicLong reloads = new AtomicLong();

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
    reloads.incrementAndGet();
    holds.clear();
    pagedPast.clear();
    forgetPassedBounds(clock.instant());
  }

  /**
   * How many times a partition's state was replaced so far. A batch read while the previous batch's
   * outcome was still to be decided (a read ahead) may be selected only under the holds it was read
   * with: if the state was loaded again meanwhile (the lease lost and claimed back while that
   * outcome was recorded), the new state was read from rows that did not yet show the outcome's
   * failures, so a later event of a key that just failed would not be held. Such a read is given up
   * (read again, after the outcome is committed) when this count has moved.
   */
  public long reloads() {
    return reloads.get();
  }

  /**
   * Loads a partition's state when its lease is claimed: the keys that failed before, each held
   * until its retry time read from the rows, waited for at most the longest backoff from now, or
   * from an earlier read of the same time ({@link #bounds}: an earlier claim of the partition).
   */
  public void load(int partition, Map<String, Instant> retrying) {
    reloads.incrementAndGet();
    pagedPast.remove(partition);
    Instant now = clock.instant();
    forgetPassedBounds(now);
    Map<String, Hold> keys = new ConcurrentHashMap<>();
    retrying.forEach(
        (key, due) -> keys.put(key, new Hold(-1, bounded(partition, key, due, now), true, due)));
    holds.put(partition, keys);
  }

  /** Forgets a partition whose lease was lost or released. */
  public void drop(int partition) {
    reloads.incrementAndGet();
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
   * The events to send now, in {@code seq} order: held keys contribute at most their held event,
   * once it is due; other keys everything. Rows given in another order are taken in {@code seq}
   * order: the polling relay reads in that order, but CDC hands a batch over in commit order, and
   * two inserts of one key by writers that do not lock their aggregate can commit out of {@code
   * seq} order. Taken as given, a key held on the earlier event with the later one failed behind it
   * stopped at the later one first, and its batch never settled (review19).
   */
  public List<PendingEvent> select(List<PendingEvent> rows, Instant now) {
    return select(rows, now, ANY_STATE);
  }

  /**
   * {@link #select} for rows read ahead, while another batch was in flight, by a read that began
   * when {@link #reloads} was {@code readWith}. Selecting writes to the holds: a key loaded at
   * lease claim gets the first of its events in the rows as its held event, and a row that failed
   * before holds its key. A read ahead leaves the batch in flight out, so the first event of a key
   * it has may be the key's second; that is sound while the holds are the ones the read began with
   * (the outcome of the batch in flight, decided before this selection, has replaced or freed such
   * a hold of every key it had an event of). A claim that loaded holds since then gives the read
   * ahead up ({@code PublishLoop}); this selection must then leave the loaded holds as they are, or
   * the retry of a failed event in flight would find its key held on its next event and go in one
   * batch with it instead of alone (review8). So once {@link #reloads} has moved from {@code
   * readWith}, a row that would write to a hold is not selected and writes nothing. Checked after
   * the partition's holds are looked up: a claim that replaced them after that replaced what is
   * written, too.
   */
  public List<PendingEvent> selectReadAhead(List<PendingEvent> rows, Instant now, long readWith) {
    if (readWith < 0) {
      throw new IllegalArgumentException("readWith must be a reload count, not " + readWith);
    }
    return select(rows, now, readWith);
  }

  /** The rows as given when they are in {@code seq} order (always, in polling), else sorted. */
  private static List<PendingEvent> inSeqOrder(List<PendingEvent> rows) {
    for (int i = 1; i < rows.size(); i++) {
      if (rows.get(i).seq() < rows.get(i - 1).seq()) {
        List<PendingEvent> sorted = new ArrayList<>(rows);
        sorted.sort(Comparator.comparingLong(PendingEvent::seq));
        return sorted;
      }
    }
    return rows;
  }

  private List<PendingEvent> select(List<PendingEvent> given, Instant now, long readWith) {
    List<PendingEvent> rows = inSeqOrder(given);
    List<PendingEvent> selected = new ArrayList<>(rows.size());
    Set<String> stopped = new HashSet<>();
    Set<String> following = new HashSet<>();
    for (PendingEvent row : rows) {
      String key = row.key();
      if (stopped.contains(key)) {
        boundBehind(row, now, readWith);
        continue;
      }
      if (following.contains(key)) {
        if (failedBefore(row)) {
          // A failed event waits for its retry time and goes alone (review9): it is held from its
          // own attempts once the deferred event before it is resolved.
          boundBehind(row, now, readWith);
          stopped.add(key);
          continue;
        }
        // Behind its deferred event in this same batch: the producer keeps them in order.
        selected.add(row);
        continue;
      }
      Map<String, Hold> keys =
          holds.computeIfAbsent(row.partition(), p -> new ConcurrentHashMap<>());
      Hold held = keys.get(key);
      // A hold on no known event yet (loaded at lease claim): the first event of the key seen since
      // is the held one.
      Hold known =
          held != null && held.seq() < 0
              ? new Hold(row.seq(), held.due(), held.alone(), held.taken())
              : held;
      Hold hold = reading(known, row, now);
      if (hold != held && readWith != ANY_STATE && reloads.get() != readWith) {
        // A read ahead under holds loaded since it began: given up by the caller, see
        // selectReadAhead.
        stopped.add(key);
        continue;
      }
      if (hold != held) {
        keys.put(key, hold);
      }
      if (hold == null) {
        selected.add(row);
        continue;
      }
      if (row.seq() > hold.seq()) {
        // A later event of a held key (read ahead, or read before the hold was known).
        boundBehind(row, now, readWith);
        stopped.add(key);
        continue;
      }
      if (row.seq() < hold.seq()) {
        // An older event of the key that shows no failure (an insert that committed after the held
        // event was read): it may go, in order before the held event.
        selected.add(row);
        continue;
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

  /**
   * A later event of a held key, read with a retry time beyond the longest backoff from now (from a
   * clock running ahead), waits behind the held event with its bound taken from this first read
   * (review20 A). Taken only once the held event was resolved, the bound went on from then: a key
   * whose events all failed on that clock (a broker outage fails every event handed over) waited
   * one longest backoff per event, up to the whole difference of the clocks. Nothing else is
   * written: a time within the bound (every time this instance writes itself) is read again when
   * the row becomes the held event. Not written by a read ahead under holds loaded since its read
   * ({@link #selectReadAhead}). A row already waiting behind it (deferred or failed with it, or
   * read before with another time) takes the bound of this read when this read shows it a time it
   * has not taken yet (review21 F1: it kept the entry it had, and its bound went on from its turn);
   * the same time read again changes nothing, so the bound does not slide.
   */
  private void boundBehind(PendingEvent row, Instant now, long readWith) {
    Instant next = row.nextAttemptAt();
    if (next == null || (!next.isAfter(now.plus(longestRetryWait)) && bounds.isEmpty())) {
      return;
    }
    if (readWith != ANY_STATE && reloads.get() != readWith) {
      return;
    }
    Map<String, Hold> keys = holds.get(row.partition());
    if (keys == null) {
      return;
    }
    Instant latest = bound(row.partition(), row.key(), next, now);
    if (!next.isAfter(latest)) {
      return;
    }
    keys.computeIfPresent(
        row.key(),
        (key, hold) -> {
          if (hold.seq() >= 0 && row.seq() > hold.seq()) {
            hold.behind()
                .merge(
                    row.seq(),
                    new Hold(row.seq(), latest, true, next),
                    (was, fresh) ->
                        next.equals(was.taken())
                            ? was
                            : new Hold(
                                was.seq(), later(was.due(), latest), true, next, was.behind()));
          }
          return hold;
        });
  }

  /**
   * A key held on its event {@code seq}, or on no known event yet ({@code seq} -1, loaded at lease
   * claim: see {@link #known}).
   */
  public record Held(int partition, String key, long seq) {

    /**
     * Whether the held event is known. A hold on no known event is never pending by {@code seq}: a
     * caller that finds it unresolved ({@link #absentDueHeads}) resolves it without asking the
     * table.
     */
    public boolean known() {
      return seq >= 0;
    }
  }

  /**
   * The holds that {@code rows} (one read, in {@code seq} order per key) cast doubt on: a key held
   * on an event that the read does not hold while it holds a later event of the key. Reads take a
   * partition's pending rows in {@code seq} order and leave nothing of a key out but all of it
   * (keys waiting for a retry to come, read-past positions) or the batch in flight, which has been
   * decided by the time its read-ahead is selected: so the held event was most likely published or
   * parked by someone else (another instance's late batch deleted it, or this instance's late batch
   * after a lease it lost and claimed again). Held so, the key would never send again: the caller
   * asks the table which of these events are still pending and calls {@link #resolved} for the
   * others. Each such key's held event is named first, then the events queued behind it that the
   * read does not hold either, in {@code seq} order ({@link #line}).
   */
  public List<Held> unseenHeads(List<PendingEvent> rows) {
    Map<Held, Set<Long>> read = new java.util.LinkedHashMap<>();
    for (PendingEvent row : rows) {
      Map<String, Hold> keys = holds.get(row.partition());
      Hold hold = keys == null ? null : keys.get(row.key());
      if (hold == null || hold.seq() < 0 || row.seq() < hold.seq()) {
        continue;
      }
      read.computeIfAbsent(new Held(row.partition(), row.key(), hold.seq()), h -> new HashSet<>())
          .add(row.seq());
    }
    List<Held> unseen = new ArrayList<>();
    read.forEach(
        (held, seqs) -> {
          if (!seqs.contains(held.seq())) {
            unseen.addAll(line(held, seqs));
          }
        });
    return unseen;
  }

  /**
   * The due holds of the {@code complete} partitions (read from their start with nothing left out
   * but keys whose retry is still to come, and not cut short) of whose key {@code rows} hold no
   * event. A due key is not left out, so its held event, had it been pending, would be in the read:
   * it was most likely published or parked elsewhere after this instance took the hold (a late
   * batch's outcome), and no later event of the key came for {@link #unseenHeads} to notice. Held
   * so, the key would stay in memory for good, count towards a crowded partition, and hold a new
   * event of it back until the hold is due. The caller asks the table which of these events are
   * still pending and calls {@link #resolved} for the others; each key's held event is named with
   * the events queued behind it ({@link #line}). A hold on no known event (not {@link Held#known}:
   * loaded at claim, none of its key's events read since) has no {@code seq} to ask about: its
   * key's failed row, pending at the claim, would be in such a read if it still were, so it is
   * resolved without asking.
   */
  public List<Held> absentDueHeads(
      Collection<Integer> complete, List<PendingEvent> rows, Instant now) {
    List<Held> absent = new ArrayList<>();
    if (complete.isEmpty()) {
      return absent;
    }
    Map<Integer, Set<String>> read = new HashMap<>();
    for (PendingEvent row : rows) {
      read.computeIfAbsent(row.partition(), p -> new HashSet<>()).add(row.key());
    }
    for (int partition : complete) {
      Map<String, Hold> keys = holds.get(partition);
      if (keys == null) {
        continue;
      }
      Set<String> seen = read.getOrDefault(partition, Set.of());
      List<Held> due = new ArrayList<>();
      keys.forEach(
          (key, hold) -> {
            if (!hold.due().isAfter(now) && !seen.contains(key)) {
              due.add(new Held(partition, key, hold.seq()));
            }
          });
      for (Held held : due) {
        absent.addAll(line(held, Set.of()));
      }
    }
    return absent;
  }

  /**
   * A key's held event and the events queued behind it that are not in {@code read}, in {@code seq}
   * order; nothing when the key is no longer held on {@code held}. Named together because the
   * hand-over ({@link #resolved}) gives the key to the next event of the line without asking the
   * table: when the held event was published elsewhere, so most likely was the line behind it (a
   * late batch's deferrals or failures), and named alone, one read per event, each with a query,
   * went by before the key's next event was sent (review21 F3). Events the read holds are pending
   * and not named; an event the table still has stays in the line, and the first of those holds the
   * key with its own time. Read inside the holds map's {@code compute}, the one place the line is
   * changed.
   */
  private List<Held> line(Held held, Set<Long> read) {
    List<Held> line = new ArrayList<>();
    Map<String, Hold> keys = holds.get(held.partition());
    if (keys == null) {
      return line;
    }
    keys.computeIfPresent(
        held.key(),
        (key, hold) -> {
          if (hold.seq() == held.seq()) {
            line.add(held);
            for (long seq : hold.behind().keySet()) {
              if (!read.contains(seq)) {
                line.add(new Held(held.partition(), key, seq));
              }
            }
          }
          return hold;
        });
    return line;
  }

  /**
   * The held event is no longer pending (published or parked elsewhere). Its key is free unless a
   * later event of it came back unresolved as well: then that one is held now. A batch that held
   * the key on its first event may have deferred or failed its next ones too; the batch read ahead
   * while it was in flight leaves them out, so freeing the key would let that read-ahead send the
   * key's events after them first (found by the model's frozen owners, issue 19). An event queued
   * behind the held one that is no longer pending leaves the line. So the events that {@link
   * #unseenHeads} or {@link #absentDueHeads} named and the table no longer has, resolved in any
   * order, leave the key held on the first event of its line that the table still has, or free.
   */
  public void resolved(Held held) {
    Map<String, Hold> keys = holds.get(held.partition());
    if (keys != null) {
      keys.computeIfPresent(
          held.key(),
          (key, hold) -> {
            if (hold.seq() != held.seq()) {
              hold.behind().remove(held.seq());
              return hold;
            }
            return next(hold);
          });
    }
  }

  /**
   * What holds a key once its held event is resolved: the next of its events that came back
   * unresolved behind it, with the rest behind that one; {@code null} when there is none.
   */
  private static @Nullable Hold next(Hold hold) {
    Map.Entry<Long, Hold> next = hold.behind().pollFirstEntry();
    if (next == null) {
      return null;
    }
    Hold promoted = next.getValue();
    promoted.behind().putAll(hold.behind());
    return promoted;
  }

  /**
   * The event was acknowledged: if it was the held one, its key is free, or held on the next of its
   * events that came back unresolved behind it ({@link #release}).
   */
  void acknowledged(PendingEvent event) {
    release(event);
  }

  /** The event was parked: as {@link #acknowledged}. */
  void parked(PendingEvent event) {
    release(event);
  }

  /** The event failed and is due again at {@code due}; it goes alone then. */
  void retryLater(PendingEvent event, Instant due) {
    hold(event, due, true);
  }

  /**
   * The event was not sent; it may go again at once, with its key's later events, unless it is a
   * retry: a retry stays alone (review9).
   */
  void deferred(PendingEvent event, Instant now) {
    hold(event, now, failedBefore(event));
  }

  /**
   * The key's hold once {@code row} is read: the one rule for a row that shows a failure the hold
   * does not know of. A failure recorded after this instance decided the hold (another owner's late
   * batch, or this one's before a lease came back) or one that the hold was loaded without (at
   * lease claim a key gets its failed rows' earliest retry time) makes the row a retry: it goes
   * alone, and not before the retry time the table has for it. So the row becomes the held event,
   * alone, due at the later of the hold's time and the row's {@code next_attempt_at}, when
   *
   * <ul>
   *   <li>the key is not held, or is held on a later event (the row committed after that event was
   *       read): that hold then waits behind the row;
   *   <li>the key is held on this row as deferred (its later events may follow);
   *   <li>the key is held on this row as a retry, and the row's retry time is later than the
   *       hold's.
   * </ul>
   *
   * A row without a failure leaves the hold as it is, and so does a row after the held event. The
   * time the hold is moved to is the row's own, {@link #bounded} by this instance's clock, so a key
   * is never held for longer than a retry time written in the table, nor for longer than the
   * longest backoff from when the row was read. A retry time the hold has taken in already ({@link
   * Hold#taken}) is not taken again: the bound is set from the first read of that time.
   *
   * @param hold the key's hold, on a known event, or {@code null}
   * @param now this instance's time of the selection
   * @return {@code hold} itself when the row changes nothing
   */
  private @Nullable Hold reading(@Nullable Hold hold, PendingEvent row, Instant now) {
    if (!failedBefore(row)) {
      return hold;
    }
    Instant next = row.nextAttemptAt();
    if (hold == null || row.seq() < hold.seq()) {
      Hold retry =
          new Hold(
              row.seq(),
              later(Instant.EPOCH, bounded(row.partition(), row.key(), next, now)),
              true,
              next);
      if (hold != null) {
        retry.behind().putAll(hold.behind());
        retry
            .behind()
            .put(hold.seq(), new Hold(hold.seq(), hold.due(), hold.alone(), hold.taken()));
      }
      return retry;
    }
    if (row.seq() > hold.seq()) {
      return hold;
    }
    boolean takenAlready = next != null && next.equals(hold.taken());
    Instant due =
        takenAlready
            ? hold.due()
            : later(hold.due(), bounded(row.partition(), row.key(), next, now));
    if (hold.alone() && due.equals(hold.due())) {
      return hold;
    }
    return new Hold(hold.seq(), due, true, takenAlready ? hold.taken() : next, hold.behind());
  }

  /**
   * A retry time read from a row, waited for at most the longest backoff from {@code now} (review19
   * F2). The time was written by the clock of the instance that recorded the failure; this instance
   * never writes one further than its longest backoff from its own now, so only a clock running
   * ahead of this one (or a row edited by hand) is cut short, and the event then goes once the
   * longest backoff has passed: still alone, still before its key's later events. The longest
   * backoff is counted from this instance's first read of the time, also when lease claims or a CDC
   * engine restart replaced the holds since ({@link #bounds}, review21 F2).
   */
  private @Nullable Instant bounded(
      int partition, String key, @Nullable Instant next, Instant now) {
    return next == null ? null : bound(partition, key, next, now);
  }

  /**
   * {@link #bounded} of a time: the bound remembered for it ({@link #bounds}) when this instance
   * has read it before, else {@code next} when it is within the longest backoff from {@code now},
   * else now plus the longest backoff, remembered for the next read.
   */
  private Instant bound(int partition, String key, Instant next, Instant now) {
    Instant latest = now.plus(longestRetryWait);
    if (!next.isAfter(latest)) {
      // Not cut short: a time this instance or an unskewed one wrote, waited for in full, also when
      // it equals a time remembered for another event of the key (review23 R2: event 2 given the
      // instant of event 1's skewed time took event 1's bound after a claim and went 13 s early).
      // A skewed time read again once it is this close takes at most one longest backoff more.
      return next;
    }
    RowTime time = new RowTime(partition, key, next);
    Instant first = bounds.get(time);
    if (first != null) {
      // Taken at an earlier read of this time, before a claim or a clear replaced the holds.
      return first.isAfter(latest) ? latest : first;
    }
    if (bounds.size() >= MAX_BOUNDS) {
      // Not made room for here (review23 R3): a scan of every remembered bound per time read cost a
      // claim of 20,000 such keys 2 s. Room is made at the next claim or clear, before its reads.
      return latest;
    }
    Instant taken = bounds.putIfAbsent(time, latest);
    return taken == null ? latest : taken;
  }

  /**
   * Forgets the bounds of row times that have come: such a time is due without its bound. Not
   * earlier (review23 R1): a bound forgotten while its time is still to come, its event pending
   * because this instance did not own the partition meanwhile, was taken again at the next claim,
   * and claims shorter than the longest backoff kept the key waiting for the whole difference of
   * the clocks again.
   */
  private void forgetPassedBounds(Instant now) {
    if (!bounds.isEmpty()) {
      bounds.keySet().removeIf(time -> !time.at().isAfter(now));
    }
    if (bounds.size() >= MAX_BOUNDS) {
      // Full of times still to come: those whose bound passed a longest backoff ago make room.
      Instant passed = now.minus(longestRetryWait);
      bounds.values().removeIf(bound -> !bound.isAfter(passed));
    }
  }

  /** How many bounds are remembered, for tests. */
  int rememberedBounds() {
    return bounds.size();
  }

  private static Instant later(Instant due, @Nullable Instant nextAttemptAt) {
    return nextAttemptAt != null && nextAttemptAt.isAfter(due) ? nextAttemptAt : due;
  }

  /** Whether the row failed before, under this or an earlier owner: a retry, which goes alone. */
  private static boolean failedBefore(PendingEvent row) {
    return row.attempts() > 0 || row.nextAttemptAt() != null;
  }

  private void hold(PendingEvent event, Instant due, boolean alone) {
    Map<String, Hold> keys =
        holds.computeIfAbsent(event.partition(), p -> new ConcurrentHashMap<>());
    keys.compute(
        event.key(),
        (key, held) -> {
          // A hold replaced on the same event keeps going alone if it did (a deferred retry).
          boolean stillAlone = alone || (held != null && held.seq() == event.seq() && held.alone());
          // The row time the event's hold has taken in stays taken (review20 B): the event's own
          // outcome does not change its row's time when it is deferred, nor when its failure could
          // not be recorded, and that time, taken in again, would be bounded from now once more.
          Hold before =
              held == null || held.seq() < 0
                  ? null
                  : held.seq() == event.seq() ? held : held.behind().get(event.seq());
          Hold hold =
              new Hold(event.seq(), due, stillAlone, before == null ? null : before.taken());
          if (held == null || held.seq() < 0) {
            return hold;
          }
          if (held.seq() < event.seq()) {
            // An earlier event of the key is still unresolved: it stays the held one, this one
            // waits behind it.
            held.behind().put(event.seq(), hold);
            return held;
          }
          hold.behind().putAll(held.behind());
          if (held.seq() > event.seq()) {
            held.behind().clear();
            hold.behind().put(held.seq(), held);
          }
          hold.behind().remove(event.seq());
          return hold;
        });
  }

  /**
   * The event is resolved here. A later event of its key that came back unresolved behind it
   * becomes the held one, as in {@link #resolved}: freeing the key outright dropped that event's
   * wait, which the table may not know (review19 F4: its failure not recorded, {@code store.record}
   * having failed), and it went before its retry time once the key's older event was acknowledged.
   */
  private void release(PendingEvent event) {
    Map<String, Hold> keys = holds.get(event.partition());
    if (keys != null) {
      keys.computeIfPresent(
          event.key(),
          (key, held) -> {
            if (held.seq() < 0) {
              return null;
            }
            if (held.seq() == event.seq()) {
              return next(held);
            }
            held.behind().remove(event.seq());
            return held;
          });
    }
  }
}
