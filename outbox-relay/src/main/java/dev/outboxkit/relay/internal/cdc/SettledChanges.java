package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.relay.internal.PendingEvent;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The row insertions the CDC relay settled lately (published or parked), so that a change the
 * change log sends a second time is not published again.
 *
 * <p>Why: a binlog client that re-establishes its connection (the keep-alive of MySQL and MariaDB,
 * which also fires while the engine's reader waits for room in a full queue) resumes on MariaDB at
 * the GTID of the last committed transaction, so the changes of the transaction it was in come
 * again, after some of them were published. Without this memory they were published again (beyond
 * the one-batch bound of duplicates), and an event parked after its attempts came back with fresh
 * attempts and was retried until the next reconnect re-sent it again, forever.
 *
 * <p>A change is identified by its row's {@code id} and {@code seq} together: a re-sent change has
 * both of the original, a replay of a parked event keeps the id but gets a new {@code seq} (it is a
 * fresh insert), so a replay is never taken for a re-sent change, and nothing that was not settled
 * is skipped. The memory is bounded (the latest {@link #CAPACITY} rows, about 100 bytes each); a
 * re-sent transaction with more settled rows than that has its oldest ones published again, which
 * is a duplicate, never a loss. Engine thread only.
 */
final class SettledChanges {

  /** How many settled row insertions are remembered, at most. */
  static final int CAPACITY = 50_000;

  private record Row(long idHigh, long idLow, long seq) {
    static Row of(PendingEvent event) {
      UUID id = event.event().id();
      return new Row(id.getMostSignificantBits(), id.getLeastSignificantBits(), event.seq());
    }
  }

  private final int capacity;

  private final Map<Row, Boolean> rows =
      new LinkedHashMap<>(1024, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Row, Boolean> eldest) {
          return size() > capacity;
        }
      };

  SettledChanges() {
    this(CAPACITY);
  }

  SettledChanges(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, was " + capacity);
    }
    this.capacity = capacity;
  }

  /** Remembers that the row of {@code event} was published or parked. */
  void settled(PendingEvent event) {
    rows.put(Row.of(event), Boolean.TRUE);
  }

  /** Whether the row of {@code event} (same id, same seq) was published or parked lately. */
  boolean contains(PendingEvent event) {
    return rows.containsKey(Row.of(event));
  }

  int size() {
    return rows.size();
  }
}
