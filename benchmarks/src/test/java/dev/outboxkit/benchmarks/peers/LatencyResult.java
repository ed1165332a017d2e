package dev.outboxkit.benchmarks.peers;

import java.util.List;

/** Append → arrival of one contender at a steady append rate, sorted, in milliseconds. */
record LatencyResult(String contender, List<Long> sortedMillis, int written, double seconds) {

  long at(double quantile) {
    if (sortedMillis.isEmpty()) {
      return -1;
    }
    int index = (int) Math.ceil(quantile * sortedMillis.size()) - 1;
    return sortedMillis.get(Math.max(0, Math.min(sortedMillis.size() - 1, index)));
  }

  long max() {
    return sortedMillis.isEmpty() ? -1 : sortedMillis.get(sortedMillis.size() - 1);
  }
}
