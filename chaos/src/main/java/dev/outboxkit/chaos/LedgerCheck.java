package dev.outboxkit.chaos;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Checks the records read back against the writers' ledger: lost events (committed, never
 * delivered), per-key reorders of first copies (what a consumer that deduplicates on the event id
 * sees), duplicates against their bound, unknown records, and after each fault the time until every
 * partition it affected published again (stuck when longer than the bound or never).
 */
final class LedgerCheck {

  private static final int EXAMPLES = 10;

  /** The check's figures; the report adds the run's context. */
  record Result(
      long events,
      long inDoubt,
      long inDoubtDelivered,
      long records,
      long lost,
      long reordered,
      long duplicates,
      long duplicateBound,
      long unknown,
      long poisonEvents,
      long poisonParked,
      List<Long> takeoverMillis,
      List<Long> recoveryMillis,
      List<Long> stallMillis,
      Map<String, List<Long>> timesByFault,
      List<String> stuckPartitions,
      List<String> violations,
      List<String> examples) {}

  private LedgerCheck() {}

  static Result check(
      Ledger ledger,
      List<Delivery> deliveries,
      List<FaultRecord> faults,
      ChaosConfig config,
      long endMillis,
      List<UUID> poison,
      Set<UUID> parked) {
    List<String> violations = new ArrayList<>();
    List<String> examples = new ArrayList<>();
    Map<String, Set<Integer>> certain = new HashMap<>();
    Map<String, Set<Integer>> doubtful = new HashMap<>();
    long events = 0;
    long inDoubt = 0;
    for (Ledger.Written w : ledger.all()) {
      if (w.certain()) {
        certain.computeIfAbsent(w.key(), k -> new HashSet<>()).add(w.n());
        events++;
      } else {
        doubtful.computeIfAbsent(w.key(), k -> new HashSet<>()).add(w.n());
        inDoubt++;
      }
    }

    Map<String, Set<Integer>> seen = new HashMap<>();
    Map<String, Integer> lastFirst = new HashMap<>();
    long duplicates = 0;
    long reordered = 0;
    long unknown = 0;
    long inDoubtDelivered = 0;
    for (Delivery d : deliveries) {
      boolean known =
          certain.getOrDefault(d.key(), Set.of()).contains(d.n())
              || doubtful.getOrDefault(d.key(), Set.of()).contains(d.n());
      if (!known) {
        unknown++;
        example(examples, "unknown record " + d);
        continue;
      }
      if (!seen.computeIfAbsent(d.key(), k -> new HashSet<>()).add(d.n())) {
        duplicates++;
        continue;
      }
      if (doubtful.getOrDefault(d.key(), Set.of()).contains(d.n())) {
        inDoubtDelivered++;
      }
      int previous = lastFirst.getOrDefault(d.key(), -1);
      if (d.n() < previous) {
        reordered++;
        example(
            examples, "reordered: " + d.key() + " event " + d.n() + " after " + previous + " " + d);
      } else {
        lastFirst.put(d.key(), d.n());
      }
    }
    long lost = 0;
    for (Map.Entry<String, Set<Integer>> e : certain.entrySet()) {
      Set<Integer> delivered = seen.getOrDefault(e.getKey(), Set.of());
      for (int n : e.getValue()) {
        if (!delivered.contains(n)) {
          lost++;
          example(examples, "lost: " + e.getKey() + " event " + n);
        }
      }
    }
    // Per publishing thread of each relay a fault hits, a batch in flight and the one read ahead,
    // each up to the largest batch the relay reads (the polling relay's adaptive batch grows, and
    // so does its number of threads under a backlog).
    long perRelay = 2L * config.relayMaxPublishThreads() * config.relayMaxBatchSize();
    long bound = faults.stream().mapToLong(f -> f.relaysHit() * perRelay).sum();

    Timing timing = Timing.of(ledger, deliveries, faults, config, endMillis);
    if (lost > 0) {
      violations.add(lost + " committed events were never delivered");
    }
    if (reordered > 0) {
      violations.add(reordered + " first copies came after a later event of their key");
    }
    if (duplicates > bound) {
      violations.add(duplicates + " duplicates, over the bound of " + bound);
    }
    if (unknown > 0) {
      violations.add(unknown + " records no writer wrote");
    }
    long poisonParked = poison.stream().filter(parked::contains).count();
    if (poisonParked < poison.size()) {
      violations.add(
          (poison.size() - poisonParked) + " poison events were dropped instead of parked");
      poison.stream()
          .filter(id -> !parked.contains(id))
          .forEach(id -> example(examples, "not parked: poison event " + id));
    }
    if (!timing.stuck().isEmpty()) {
      violations.add(timing.stuck().size() + " partitions stuck after a fault");
    }
    return new Result(
        events,
        inDoubt,
        inDoubtDelivered,
        deliveries.size(),
        lost,
        reordered,
        duplicates,
        bound,
        unknown,
        poison.size(),
        poisonParked,
        timing.takeovers(),
        timing.recoveries(),
        timing.stalls(),
        timing.byFault(),
        timing.stuck(),
        violations,
        examples);
  }

  private static void example(List<String> examples, String example) {
    if (examples.size() < EXAMPLES) {
      examples.add(example);
    }
  }
}
