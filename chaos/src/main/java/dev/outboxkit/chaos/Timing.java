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
 * never comes although events of it were committed after the fault.
 */
record Timing(List<Long> takeovers, List<Long> recoveries, List<String> stuck) {

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
    List<String> stuck = new ArrayList<>();
    long stuckAfter = config.stuckAfter().toMillis();
    for (FaultRecord fault : faults) {
      if (fault.measure() == FaultRecord.Measure.NONE || fault.partitions().isEmpty()) {
        continue;
      }
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
        (fault.measure() == FaultRecord.Measure.TAKEOVER ? takeovers : recoveries).add(slowest);
      }
    }
    return new Timing(takeovers, recoveries, stuck);
  }
}
