package dev.outboxkit.benchmarks;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.IntToLongFunction;

/**
 * Where one event's delivery time goes, per event of a latency pass, all on one clock ({@link
 * System#nanoTime()}): the writer's append and the return of its commit, the NOTIFY seen by a
 * second listener of the channel ({@link NotifyTimes}), the relay's read of the row ({@link
 * TimedDataSource}, optional), its hand-over to the producer and the broker's acknowledgement
 * ({@link StageInterceptor}), and the consumer's arrival. Each payload starts with the event's
 * number (8 bytes), which is how every stage finds its event.
 *
 * <p>The interceptor and the data source find the pass's instance through {@link #current}: one
 * latency pass at a time.
 */
final class LatencyStages {

  /** The pass being measured, for the producer interceptor and the timed data source. */
  static volatile LatencyStages current;

  private final String topic;
  private final int payloadSize;
  private final int capacity;
  private final AtomicLongArray append;
  private final AtomicLongArray commit;
  private final AtomicLongArray read;
  // CDC only (CdcStages): the change decoded by Debezium's reader thread, before its queue; and the
  // record through the engine's processing pool, just before the batch goes to the relay's handler.
  private final AtomicLongArray decoded;
  private final AtomicLongArray pooled;
  private final AtomicLongArray sent;
  private final AtomicLongArray acked;
  private final AtomicLongArray arrived;
  // The record timestamp (the relay's createdAt, ms) against System.currentTimeMillis() at
  // arrival: what the benchmark measured before.
  private final AtomicLongArray timestampLag;
  private final AtomicLongArray where;
  private final Map<Long, Long> acks = new ConcurrentHashMap<>();
  private final long[] notifies;
  private final AtomicInteger notifyCount = new AtomicInteger();
  // Reads of the outbox and DELETEs of published rows: {start, end, rows}.
  private final List<long[]> reads = java.util.Collections.synchronizedList(new ArrayList<>());
  private final List<long[]> deletes = java.util.Collections.synchronizedList(new ArrayList<>());
  // CDC: the statement that stores the offsets after a batch (with its DELETE on PostgreSQL).
  private final List<long[]> offsets = java.util.Collections.synchronizedList(new ArrayList<>());

  LatencyStages(String topic, int payloadSize, int capacity) {
    this.topic = topic;
    this.payloadSize = payloadSize;
    this.capacity = capacity;
    this.append = new AtomicLongArray(capacity);
    this.commit = new AtomicLongArray(capacity);
    this.read = new AtomicLongArray(capacity);
    this.decoded = new AtomicLongArray(capacity);
    this.pooled = new AtomicLongArray(capacity);
    this.sent = new AtomicLongArray(capacity);
    this.acked = new AtomicLongArray(capacity);
    this.arrived = new AtomicLongArray(capacity);
    this.timestampLag = new AtomicLongArray(capacity);
    this.where = new AtomicLongArray(capacity);
    // One NOTIFY per commit; the relay's own deletes notify nothing (the trigger is on INSERT).
    this.notifies = new long[capacity * 2];
  }

  /** {@code template} with event {@code index} in its first 8 bytes. */
  static byte[] payload(byte[] template, long index) {
    byte[] copy = template.clone();
    ByteBuffer.wrap(copy).putLong(0, index);
    return copy;
  }

  /** The event number in a payload of this pass, or -1 for another payload. */
  long index(byte[] value) {
    if (value == null || value.length != payloadSize) {
      return -1;
    }
    long index = ByteBuffer.wrap(value).getLong(0);
    return index >= 0 && index < capacity ? index : -1;
  }

  int capacity() {
    return capacity;
  }

  String topic() {
    return topic;
  }

  void appended(int index, long nanos) {
    append.set(index, nanos);
  }

  void committed(int index, long nanos) {
    commit.set(index, nanos);
  }

  void notified(long nanos) {
    int i = notifyCount.getAndIncrement();
    if (i < notifies.length) {
      notifies[i] = nanos;
    }
  }

  void readQuery(long start, long end, int rows) {
    reads.add(new long[] {start, end, rows});
  }

  void deleted(long start, long end) {
    deletes.add(new long[] {start, end, 0});
  }

  void offsetsStored(long start, long end) {
    offsets.add(new long[] {start, end, 0});
  }

  /** CDC: Debezium's reader decoded the change of {@code value} (before its queue). */
  void decoded(byte[] value, long nanos) {
    long index = index(value);
    if (index >= 0) {
      decoded.compareAndSet((int) index, 0, nanos);
    }
  }

  /** CDC: the engine's processing pool passed the record of {@code value} on. */
  void pooled(byte[] value, long nanos) {
    long index = index(value);
    if (index >= 0) {
      pooled.compareAndSet((int) index, 0, nanos);
    }
  }

  /** The relay got the row of {@code value} from a read that returned at {@code nanos}. */
  void readRow(byte[] value, long nanos) {
    long index = index(value);
    if (index >= 0) {
      read.compareAndSet((int) index, 0, nanos);
    }
  }

  void sent(byte[] value, long nanos) {
    long index = index(value);
    if (index >= 0) {
      sent.compareAndSet((int) index, 0, nanos);
    }
  }

  void acked(String topic, int partition, long offset, long nanos) {
    if (this.topic.equals(topic) && offset >= 0) {
      acks.putIfAbsent(key(partition, offset), nanos);
    }
  }

  /** Records an arrival; returns the event's number, or -1 for a record of another pass. */
  long arrived(byte[] value, int partition, long offset, long timestamp, long nanos, long millis) {
    long index = index(value);
    if (index < 0 || !arrived.compareAndSet((int) index, 0, nanos)) {
      return -1;
    }
    // Joined with the acknowledgements in report(): the consumer may see a record before the
    // producer's I/O thread has handled the broker's answer.
    where.set((int) index, key(partition, offset));
    timestampLag.set((int) index, millis - timestamp);
    return index;
  }

  boolean hasArrived(int index) {
    return arrived.get(index) != 0;
  }

  private static long key(int partition, long offset) {
    return ((long) partition << 48) | offset;
  }

  /** The first NOTIFY seen at or after {@code nanos}, or 0. */
  private long notifyAfter(long nanos, int count) {
    int lo = 0;
    int hi = count;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (notifies[mid] < nanos) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo < count ? notifies[lo] : 0;
  }

  /**
   * One line per stage over the events {@code from .. to - 1}: percentiles in ms of each step, the
   * headline being commit → consumer. Events never received count as later than all others.
   */
  List<String> report(int from, int to, long windowStart, long windowEnd) {
    joinAcks(from, to);
    int count = Math.min(notifyCount.get(), notifies.length);
    List<String> lines = new ArrayList<>();
    int missing = 0;
    for (int i = from; i < to; i++) {
      if (arrived.get(i) == 0) {
        missing++;
      }
    }
    lines.add(
        String.format(
            Locale.ROOT,
            "  %d events in the window, %d not received; %d NOTIFYs seen by the second listener",
            to - from,
            missing,
            count));
    lines.add(
        stage("commit -> consumer (headline)", from, to, i -> span(commit, arrived, i), true));
    lines.add(stage("append -> consumer", from, to, i -> span(append, arrived, i), true));
    lines.add(
        stage(
            "record timestamp -> consumer (ms clock; the old figure)",
            from,
            to,
            i -> arrived.get(i) == 0 ? Long.MIN_VALUE : timestampLag.get(i) * 1_000_000L,
            false));
    lines.add(stage("append -> commit returned", from, to, i -> span(append, commit, i), false));
    lines.add(
        stage(
            "commit -> NOTIFY at a second listener",
            from,
            to,
            i -> {
              long n = append.get(i) == 0 ? 0 : notifyAfter(append.get(i), count);
              return n == 0 || commit.get(i) == 0 ? Long.MIN_VALUE : n - commit.get(i);
            },
            false));
    lines.add(stage("commit -> read by the relay", from, to, i -> span(commit, read, i), false));
    lines.add(
        stage(
            "CDC: commit -> decoded by Debezium's reader",
            from,
            to,
            i -> span(commit, decoded, i),
            false));
    lines.add(
        stage(
            "CDC: decoded -> through the engine's pool (queue, poll)",
            from,
            to,
            i -> span(decoded, pooled, i),
            false));
    lines.add(
        stage(
            "CDC: pool -> handed to the producer (batch, handler)",
            from,
            to,
            i -> span(pooled, sent, i),
            false));
    lines.add(stage("read -> handed to the producer", from, to, i -> span(read, sent, i), false));
    lines.add(
        stage("commit -> handed to the producer", from, to, i -> span(commit, sent, i), false));
    lines.add(stage("handed over -> broker ack", from, to, i -> span(sent, acked, i), false));
    lines.add(stage("commit -> broker ack", from, to, i -> span(commit, acked, i), false));
    lines.add(stage("append -> broker ack", from, to, i -> span(append, acked, i), false));
    lines.add(stage("broker ack -> consumer", from, to, i -> span(acked, arrived, i), false));
    lines.add(batches("relay reads of the outbox (query time)", reads, windowStart, windowEnd));
    lines.add(
        batches(
            "relay DELETEs of published rows (statement time)", deletes, windowStart, windowEnd));
    lines.add(
        batches(
            "CDC offsets (+ DELETE) after each batch (statement time)",
            offsets,
            windowStart,
            windowEnd));
    lines.addAll(cdcCycle(from, to, windowStart, windowEnd));
    return lines;
  }

  /**
   * CDC: the engine's cycle around each offsets statement of the window, from the per-event stamps:
   * the last acknowledgement before the statement → its start (the handler after the broker's
   * answer, Debezium's offset commit up to our store, its thread hand-over), and the statement's
   * end → the first record of the next batch through the engine's pool (the store's answer back to
   * the engine, the engine's poll of its queue, the hand-over to the pool).
   */
  private List<String> cdcCycle(int from, int to, long windowStart, long windowEnd) {
    List<long[]> statements;
    synchronized (offsets) {
      statements = new ArrayList<>(offsets);
    }
    statements.sort(java.util.Comparator.comparingLong(v -> v[0]));
    long[] acks = sortedStamps(acked, from, to);
    long[] pools = sortedStamps(pooled, from, to);
    if (statements.isEmpty() || acks.length == 0 || pools.length == 0) {
      return List.of();
    }
    List<Long> ackToStatement = new ArrayList<>();
    List<Long> statementToPool = new ArrayList<>();
    List<Long> cycle = new ArrayList<>();
    for (int k = 1; k < statements.size() - 1; k++) {
      long[] s = statements.get(k);
      if (s[0] < windowStart || s[0] > windowEnd) {
        continue;
      }
      long previousEnd = statements.get(k - 1)[1];
      long nextStart = statements.get(k + 1)[0];
      long ack = lastBefore(acks, s[0]);
      if (ack > previousEnd) {
        ackToStatement.add(s[0] - ack);
      }
      long pool = firstAfter(pools, s[1]);
      if (pool > 0 && pool < nextStart) {
        statementToPool.add(pool - s[1]);
      }
      cycle.add(nextStart - s[0]);
    }
    return List.of(
        summary("CDC cycle: last broker ack -> offsets statement starts", ackToStatement),
        summary("CDC cycle: offsets statement ends -> next batch in the pool", statementToPool),
        summary("CDC cycle: offsets statement to the next (one batch)", cycle));
  }

  private static long[] sortedStamps(AtomicLongArray of, int from, int to) {
    long[] values = new long[to - from];
    int n = 0;
    for (int i = from; i < to; i++) {
      if (of.get(i) != 0) {
        values[n++] = of.get(i);
      }
    }
    long[] sorted = Arrays.copyOf(values, n);
    Arrays.sort(sorted);
    return sorted;
  }

  private static long lastBefore(long[] sorted, long nanos) {
    int i = Arrays.binarySearch(sorted, nanos);
    int at = i >= 0 ? i : -i - 2;
    return at >= 0 ? sorted[at] : Long.MIN_VALUE;
  }

  private static long firstAfter(long[] sorted, long nanos) {
    int i = Arrays.binarySearch(sorted, nanos);
    int at = i >= 0 ? i + 1 : -i - 1;
    return at < sorted.length ? sorted[at] : 0;
  }

  private static String summary(String name, List<Long> nanos) {
    if (nanos.isEmpty()) {
      return String.format(Locale.ROOT, "  %-58s not measured", name);
    }
    long[] sorted = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
    return String.format(
        Locale.ROOT,
        "  %-58s n=%5d mean %6.2f  p50 %6.2f  p95 %6.2f  p99 %6.2f  max %7.2f ms",
        name,
        sorted.length,
        Arrays.stream(sorted).average().orElse(0) / 1e6,
        ms(at(sorted, 0.50)),
        ms(at(sorted, 0.95)),
        ms(at(sorted, 0.99)),
        ms(sorted[sorted.length - 1]));
  }

  private void joinAcks(int from, int to) {
    for (int i = from; i < to; i++) {
      Long ack = arrived.get(i) == 0 ? null : acks.get(where.get(i));
      if (ack != null) {
        acked.set(i, ack);
      }
    }
  }

  private static long span(AtomicLongArray from, AtomicLongArray to, int i) {
    long a = from.get(i);
    long b = to.get(i);
    return a == 0 || b == 0 ? Long.MIN_VALUE : b - a;
  }

  private static String stage(
      String name, int from, int to, IntToLongFunction nanos, boolean missingIsLate) {
    long[] values = new long[to - from];
    int n = 0;
    for (int i = from; i < to; i++) {
      long v = nanos.applyAsLong(i);
      if (v != Long.MIN_VALUE) {
        values[n++] = v;
      } else if (missingIsLate) {
        values[n++] = Long.MAX_VALUE;
      }
    }
    if (n == 0) {
      return String.format(Locale.ROOT, "  %-58s not measured", name);
    }
    long[] sorted = Arrays.copyOf(values, n);
    Arrays.sort(sorted);
    double sum = 0;
    for (long v : sorted) {
      sum += v == Long.MAX_VALUE ? 0 : v;
    }
    return String.format(
        Locale.ROOT,
        "  %-58s n=%5d mean %6.2f  p50 %6.2f  p95 %6.2f  p99 %6.2f  max %7.2f ms",
        name,
        n,
        sum / n / 1e6,
        ms(at(sorted, 0.50)),
        ms(at(sorted, 0.95)),
        ms(at(sorted, 0.99)),
        ms(sorted[n - 1]));
  }

  private static String batches(String name, List<long[]> of, long windowStart, long windowEnd) {
    List<long[]> copy;
    synchronized (of) {
      copy = new ArrayList<>(of);
    }
    copy.removeIf(v -> v[0] < windowStart || v[0] > windowEnd);
    if (copy.isEmpty()) {
      return String.format(Locale.ROOT, "  %-58s not measured", name);
    }
    long[] durations = copy.stream().mapToLong(v -> v[1] - v[0]).sorted().toArray();
    double rows = copy.stream().mapToLong(v -> v[2]).average().orElse(0);
    double mean = Arrays.stream(durations).average().orElse(0);
    return String.format(
            Locale.ROOT,
            "  %-58s n=%5d mean %6.2f  p50 %6.2f  p99 %6.2f  max %7.2f ms%s",
            name,
            durations.length,
            mean / 1e6,
            ms(at(durations, 0.50)),
            ms(at(durations, 0.99)),
            ms(durations[durations.length - 1]),
            // Rows are counted for the reads only.
            rows > 0 ? String.format(Locale.ROOT, "; %.1f rows each", rows) : "")
        + "\n    the 8 longest (window offset s / ms / rows): "
        + longest(copy, windowStart, v -> v[1] - v[0])
        + "\n    the 8 longest gaps before one (from the previous one's start; s / ms / rows): "
        + longest(gaps(copy), windowStart, v -> v[3]);
  }

  /** Each statement with the time since the previous one started, in place 3 (sorted by start). */
  private static List<long[]> gaps(List<long[]> statements) {
    List<long[]> sorted = new ArrayList<>(statements);
    sorted.sort(java.util.Comparator.comparingLong(v -> v[0]));
    List<long[]> gaps = new ArrayList<>();
    for (int i = 1; i < sorted.size(); i++) {
      long[] v = sorted.get(i);
      gaps.add(new long[] {v[0], v[1], v[2], v[0] - sorted.get(i - 1)[0]});
    }
    return gaps;
  }

  private static String longest(
      List<long[]> of, long windowStart, java.util.function.ToLongFunction<long[]> measure) {
    return of.stream()
        .sorted(java.util.Comparator.comparingLong(measure).reversed())
        .limit(8)
        .map(
            v ->
                String.format(
                    Locale.ROOT,
                    "%.2f/%.1f/%d",
                    (v[0] - windowStart) / 1e9,
                    measure.applyAsLong(v) / 1e6,
                    v[2]))
        .collect(java.util.stream.Collectors.joining(" "));
  }

  private static long at(long[] sorted, double q) {
    return sorted[Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(q * sorted.length) - 1))];
  }

  private static double ms(long nanos) {
    return nanos == Long.MAX_VALUE ? Double.POSITIVE_INFINITY : nanos / 1e6;
  }

  /** Commit → consumer of each event of the window in µs, sorted; never received is last. */
  long[] commitToConsumerMicros(int from, int to) {
    return sortedMicros(from, to, i -> span(commit, arrived, i));
  }

  /** The record timestamp (append, ms clock) → consumer in µs, sorted: the former measure. */
  long[] timestampToConsumerMicros(int from, int to) {
    return sortedMicros(
        from, to, i -> arrived.get(i) == 0 ? Long.MIN_VALUE : timestampLag.get(i) * 1_000_000L);
  }

  /** Append → broker acknowledgement in µs, sorted: what the relay's timer measures. */
  long[] appendToAckMicros(int from, int to) {
    joinAcks(from, to);
    long[] all = sortedMicros(from, to, i -> span(append, acked, i));
    // Events whose acknowledgement was not seen are left out, not counted as late.
    int n = 0;
    while (n < all.length && all[n] != Long.MAX_VALUE) {
      n++;
    }
    return Arrays.copyOf(all, n);
  }

  private static long[] sortedMicros(int from, int to, IntToLongFunction nanos) {
    long[] values = new long[to - from];
    for (int i = from; i < to; i++) {
      long v = nanos.applyAsLong(i);
      values[i - from] = v == Long.MIN_VALUE ? Long.MAX_VALUE : v / 1000;
    }
    Arrays.sort(values);
    return values;
  }
}
