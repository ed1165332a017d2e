package dev.outboxkit.chaos;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Takeover and recovery times: after each fault, for every outbox partition it affected, the time
 * until the first record of that partition the broker appended after it; the fault's figure is the
 * slowest partition's. A partition is stuck when that takes longer than {@code --stuck-after}, or
 * never comes although events of it were committed after the fault. A stall (a fault that must not
 * hold other keys up, such as poison events with the dead-letter topic missing) is measured from
 * the fault's start, like a takeover, and held to the fault's tighter bound only when it began
 * after every partition of the earlier faults had published again.
 */
record Timing(
    List<Long> takeovers,
    List<Long> recoveries,
    List<Long> stalls,
    Map<String, List<Long>> byFault,
    List<String> stuck) {

  static Timing of(
      Ledger ledger,
      List<Delivery> deliveries,
      List<FaultRecord> faults,
      ChaosConfig config,
      long endMillis) {
    Map<String, Integer> partitionOfKey = ledger.partitions();
    // Per outbox partition: send timestamps in order.
    Map<Integer, TreeMap<Long, Integer>> sends = new HashMap<>();
    for (Delivery d : deliveries) {
      Integer partition = partitionOfKey.get(d.key());
      if (partition != null) {
        sends
            .computeIfAbsent(partition, p -> new TreeMap<>())
            .merge(d.timestampMillis(), 1, Integer::sum);
      }
    }
    Map<Integer, Long> lastCommit = new HashMap<>();
    for (Ledger.Written w : ledger.all()) {
      Integer partition = partitionOfKey.get(w.key());
      if (w.certain() && partition != null) {
        lastCommit.merge(partition, w.committedAtMillis(), Math::max);
      }
    }
    List<Long> takeovers = new ArrayList<>();
    List<Long> recoveries = new ArrayList<>();
    List<Long> stalls = new ArrayList<>();
    Map<String, List<Long>> byFault = new TreeMap<>();
    List<String> stuck = new ArrayList<>();
    // When the partitions hit by the faults so far had all published again: a fault injected
    // before then starts while an earlier one is still being recovered from.
    long recoveredAt = Long.MIN_VALUE;
    for (FaultRecord fault : faults) {
      if (fault.measure() == FaultRecord.Measure.NONE || fault.partitions().isEmpty()) {
        continue;
      }
      // A fault's own tighter bound (a stall's) judges what it does to healthy relays. Begun while
      // an earlier fault's recovery was still under way (1 s between faults; a CDC engine restart
      // after a database fault takes 10 s and more), its time includes that recovery and is held
      // to the run's bound instead, as the earlier fault's own time is.
      boolean healthyStart = fault.startMillis() >= recoveredAt;
      long stuckAfter =
          fault.stuckAfterMillis() > 0 && healthyStart
              ? fault.stuckAfterMillis()
              : config.stuckAfter().toMillis();
      long from = fault.measuredFrom();
      long slowest = -1;
      for (int partition : fault.partitions()) {
        if (lastCommit.getOrDefault(partition, Long.MIN_VALUE) < from) {
          continue; // nothing was written to it after the fault: nothing to wait for
        }
        Long next = sends.getOrDefault(partition, new TreeMap<>()).ceilingKey(from);
        long waited = next == null ? endMillis - from : next - from;
        if (next == null || waited > stuckAfter) {
          stuck.add(
              "partition "
                  + partition
                  + " after "
                  + fault.fault()
                  + " of "
                  + fault.target()
                  + " at "
                  + fault.startMillis()
                  + (next == null ? ": never published again" : ": " + waited + " ms"));
        }
        slowest = Math.max(slowest, waited);
      }
      if (slowest >= 0) {
        recoveredAt = Math.max(recoveredAt, from + slowest);
        (switch (fault.measure()) {
              case TAKEOVER -> takeovers;
              case STALL -> stalls;
              default -> recoveries;
            })
            .add(slowest);
        byFault.computeIfAbsent(fault.fault(), f -> new ArrayList<>()).add(slowest);
      }
    }
    return new Timing(takeovers, recoveries, stalls, byFault, stuck);
  }
}
