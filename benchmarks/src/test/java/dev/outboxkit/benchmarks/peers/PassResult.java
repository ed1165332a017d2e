package dev.outboxkit.benchmarks.peers;

import java.util.ArrayList;
import java.util.List;

/**
 * One drain pass of one contender: when draining started and when each of the backlog's events
 * arrived at the consumer ({@link System#nanoTime()}), plus how fast the backlog was appended.
 */
record PassResult(
    String contender, int pass, int events, long startNanos, long[] arrivals, double appendRate) {

  /**
   * Events per second from the first arrival to the last: the rate the backlog drains at, without
   * the relay's start-up and first poll (reported apart, {@link #firstEventMillis()}).
   */
  double drainRate() {
    long span = arrivals[arrivals.length - 1] - arrivals[0];
    return span <= 0 ? Double.NaN : (arrivals.length - 1) * 1e9 / span;
  }

  /** Milliseconds from resuming the relay to the first arrival. */
  double firstEventMillis() {
    return (arrivals[0] - startNanos) / 1e6;
  }

  /** Seconds from resuming the relay to the last arrival. */
  double totalSeconds() {
    return (arrivals[arrivals.length - 1] - startNanos) / 1e9;
  }

  /**
   * The drain cut into about {@code buckets} equal time slices: for each, seconds since start (at
   * its end), backlog still pending at its start, and the rate within it (events/s).
   */
  List<double[]> slices(int buckets) {
    long first = arrivals[0];
    long span = Math.max(1, arrivals[arrivals.length - 1] - first);
    long width = Math.max(1_000_000L, span / buckets);
    List<double[]> slices = new ArrayList<>();
    int index = 0;
    for (long from = first; index < arrivals.length; from += width) {
      int before = index;
      while (index < arrivals.length && arrivals[index] < from + width) {
        index++;
      }
      double seconds = (from + width - startNanos) / 1e9;
      slices.add(new double[] {seconds, events - before, (index - before) * 1e9 / width});
    }
    return slices;
  }
}
