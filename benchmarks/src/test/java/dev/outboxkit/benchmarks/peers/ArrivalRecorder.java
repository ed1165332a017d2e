package dev.outboxkit.benchmarks.peers;

import dev.outboxkit.test.KafkaTopics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * A consumer positioned at the end of every partition of one topic that records when records
 * arrive: the one measuring instrument of {@link PeerBenchmark}.
 */
final class ArrivalRecorder implements AutoCloseable {

  private static final String EVENT_ID = "outbox-event-id";

  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Set<String> ids = new HashSet<>();
  private int repeats;

  ArrivalRecorder(String bootstrapServers, String topic) {
    consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrapServers,
                ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
                5,
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG,
                5000,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class));
    List<TopicPartition> partitions = KafkaTopics.partitions(consumer, topic);
    consumer.assign(partitions);
    consumer.seekToEnd(partitions);
    partitions.forEach(consumer::position);
  }

  /**
   * Arrival times ({@link System#nanoTime()}) of the next {@code events} distinct records: a record
   * whose {@value #EVENT_ID} header (OutboxKit's relay, the hand-rolled relay) repeats one already
   * received is counted in {@link #repeats()} instead, so a redelivery cannot stand in for an event
   * that never arrived. Records without the header (the other libraries' and the raw producer's)
   * count each.
   *
   * @throws IllegalStateException when they do not all arrive within {@code timeout}
   */
  long[] awaitArrivals(int events, Duration timeout) {
    long[] arrivals = new long[events];
    int received = 0;
    long deadline = System.nanoTime() + timeout.toNanos();
    while (received < events) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "only "
                + received
                + " of "
                + events
                + " events arrived within "
                + timeout
                + " ("
                + repeats
                + " repeated event ids besides)");
      }
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(20))) {
        long now = System.nanoTime();
        Header id = r.headers().lastHeader(EVENT_ID);
        if (id != null && !ids.add(new String(id.value(), StandardCharsets.UTF_8))) {
          repeats++;
        } else if (received < events) {
          arrivals[received++] = now;
        }
      }
    }
    return arrivals;
  }

  /** Records {@link #awaitArrivals} received whose event id it had already received. */
  int repeats() {
    return repeats;
  }

  /**
   * Append → arrival in milliseconds of the records appended at or after {@code fromMillis} and
   * before {@code untilMillis}, polling until {@code pollUntilMillis}.
   */
  List<Long> latencies(long fromMillis, long untilMillis, long pollUntilMillis) {
    List<Long> millis = new ArrayList<>();
    while (System.currentTimeMillis() < pollUntilMillis) {
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(20))) {
        long now = System.currentTimeMillis();
        long appended = Payloads.appendedAt(r.value());
        if (appended >= fromMillis && appended < untilMillis) {
          millis.add(now - appended);
        }
      }
    }
    return millis;
  }

  /**
   * How often each sequence number {@code first … first+count-1} arrived (values starting {@code
   * S<9 digits>}), polling until each arrived once or {@code timeout} passed, then half a second
   * more for late duplicates.
   */
  Map<Integer, Integer> sequences(int first, int count, Duration timeout) {
    Map<Integer, Integer> seen = new java.util.HashMap<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    long settle = Long.MAX_VALUE;
    while (System.nanoTime() < Math.min(deadline, settle)) {
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(20))) {
        byte[] v = r.value();
        if (v.length >= 10 && v[0] == 'S') {
          int sequence =
              Integer.parseInt(new String(v, 1, 9, java.nio.charset.StandardCharsets.US_ASCII));
          if (sequence >= first && sequence < first + count) {
            seen.merge(sequence, 1, Integer::sum);
          }
        }
      }
      if (seen.size() == count && settle == Long.MAX_VALUE) {
        settle = System.nanoTime() + 500_000_000L;
      }
    }
    return seen;
  }

  @Override
  public void close() {
    consumer.close();
  }
}
