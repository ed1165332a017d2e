package dev.outboxkit.chaos;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the writers did: per key, every event number they tried, whether its commit returned
 * (certain) or failed (in doubt: a commit whose answer was lost may still have committed), its
 * outbox partition and when the commit returned. Each key has one writer thread, so a key's numbers
 * grow with commit order; a failed number is never reused.
 */
final class Ledger {

  /** One event a writer tried to commit. */
  record Written(String key, int n, long committedAtMillis, boolean certain) {}

  private final Map<String, List<Written>> byKey = new ConcurrentHashMap<>();
  private final Map<String, Integer> partitions = new ConcurrentHashMap<>();

  void committed(String key, int n, int partition, long atMillis) {
    partitions.put(key, partition);
    events(key).add(new Written(key, n, atMillis, true));
  }

  void inDoubt(String key, int n, long atMillis) {
    events(key).add(new Written(key, n, atMillis, false));
  }

  private List<Written> events(String key) {
    return byKey.computeIfAbsent(
        key, k -> java.util.Collections.synchronizedList(new ArrayList<>()));
  }

  /** Every event of every key. */
  List<Written> all() {
    List<Written> all = new ArrayList<>();
    byKey
        .values()
        .forEach(
            list -> {
              synchronized (list) {
                all.addAll(list);
              }
            });
    return all;
  }

  /** Events whose commit returned. */
  long certain() {
    return all().stream().filter(Written::certain).count();
  }

  /** The outbox partition of a key, or -1 when no commit of it returned yet. */
  int partitionOf(String key) {
    return partitions.getOrDefault(key, -1);
  }

  /** Keys by outbox partition. */
  Map<String, Integer> partitions() {
    return Map.copyOf(partitions);
  }
}
