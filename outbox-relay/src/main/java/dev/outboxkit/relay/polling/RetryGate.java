package dev.outboxkit.relay.polling;

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

/**
 * Keeps per-key order across failures: a key whose oldest pending event failed waits, with all its
 * later events, until that event's retry time; then the failed event is sent alone, and the rest
 * follow only once it is acknowledged or parked. Other keys are not held up.
 *
 * <p>Waiting keys are left out of the poll query ({@code NOT IN}), so a partition is never starved
 * by a key that fails. The state is per owned partition, loaded from the rows' {@code attempts} and
 * {@code next_attempt_at} when a lease is claimed, so it survives a change of owner.
 */
final class RetryGate {

  /** Beyond this many waiting keys in one partition, they are filtered in memory instead. */
  private static final int MAX_EXCLUDED = 500;

  private final Map<Integer, Map<String, Instant>> waiting = new ConcurrentHashMap<>();

  void load(int partition, Map<String, Instant> keys) {
    waiting.put(partition, new ConcurrentHashMap<>(keys));
  }

  void drop(int partition) {
    waiting.remove(partition);
  }

  /** The keys to leave out of the poll: those still waiting for their retry time. */
  Map<Integer, List<String>> excluded(Collection<Integer> partitions, Instant now) {
    Map<Integer, List<String>> excluded = new HashMap<>();
    for (int partition : partitions) {
      Map<String, Instant> keys = waiting.get(partition);
      if (keys == null || keys.isEmpty()) {
        continue;
      }
      List<String> wait = new ArrayList<>();
      keys.forEach(
          (key, at) -> {
            if (at.isAfter(now)) {
              wait.add(key);
            }
          });
      if (!wait.isEmpty() && wait.size() <= MAX_EXCLUDED) {
        excluded.put(partition, wait);
      }
    }
    return excluded;
  }

  /** The rows to send now, in {@code seq} order. */
  List<PendingEvent> select(List<PendingEvent> rows, Instant now) {
    List<PendingEvent> selected = new ArrayList<>(rows.size());
    Set<String> stopped = new HashSet<>();
    for (PendingEvent row : rows) {
      String key = row.key();
      if (stopped.contains(key)) {
        continue;
      }
      Map<String, Instant> keys =
          waiting.computeIfAbsent(row.partition(), p -> new ConcurrentHashMap<>());
      Instant at = keys.get(key);
      if (at == null && row.nextAttemptAt() != null && row.nextAttemptAt().isAfter(now)) {
        at = row.nextAttemptAt();
        keys.put(key, at);
      }
      if (at != null && at.isAfter(now)) {
        stopped.add(key);
        continue;
      }
      selected.add(row);
      if (at != null || row.attempts() > 0) {
        stopped.add(key);
      }
    }
    return selected;
  }

  void retryLater(PendingEvent row, Instant at) {
    waiting.computeIfAbsent(row.partition(), p -> new ConcurrentHashMap<>()).put(row.key(), at);
  }

  void clear(PendingEvent row) {
    Map<String, Instant> keys = waiting.get(row.partition());
    if (keys != null) {
      keys.remove(row.key());
    }
  }
}
