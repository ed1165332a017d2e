package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.relay.internal.delivery.DeliveryCore;
import dev.outboxkit.relay.internal.delivery.DeliveryOutcome;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.relay.internal.delivery.ManagedBatchSender;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.internal.kafka.ModelPublishers;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.source.SourceRecord;

/**
 * A server-free world for the CDC relay: an outbox table whose every change (the writers' inserts,
 * and the relay's own writes: retry bookkeeping on {@code PENDING} rows, parks, deletes of
 * published rows, and operator replays, which delete the parked row and insert a fresh copy) goes
 * to a change stream as Debezium's envelopes, with PostgreSQL's placeholder for a TOASTed payload
 * an update did not change. The stream is read in batches by the real {@link ChangeDecoder} and
 * published through the real {@link DeliveryCore} and {@code KafkaEventPublisher} over scripted
 * {@code MockProducer}s, with the decisions {@link CdcBatchHandler} takes (its send loop is
 * mirrored here without its lease, pause and engine gates, which need a database); the relay's
 * writes are those of {@link CdcRowStore}. A crash re-reads the batch whose position was not
 * stored.
 */
final class CdcDeliveryModel implements AutoCloseable {

  /** What the broker does with one record (the script is played once, then every send is acked). */
  enum Outcome {
    /** Written and acknowledged. */
    ACK,
    /** No acknowledgement in time, not written: the broker's trouble (counts no attempt). */
    TIMEOUT,
    /** Refused by an ACL roll-out: counts no attempt. */
    DENIED,
    /** Refused for a reason of the event (an unknown topic): counts an attempt. */
    REFUSED
  }

  /** Debezium's stand-in for a TOASTed column an update did not change (PostgreSQL). */
  static final byte[] UNAVAILABLE = "__debezium_unavailable_value".getBytes(StandardCharsets.UTF_8);

  static final String TABLE = "outbox_event";

  /** A row of the outbox table, and the event it carries. */
  static final class Row {
    final UUID id;
    final int number;
    final String key;
    final byte[] payload;
    final boolean toasted;
    long seq;
    String status = "PENDING";
    int attempts;
    @org.jspecify.annotations.Nullable Instant nextAttemptAt;
    boolean deleted;
    boolean replayed;
    boolean mayDuplicate;
    boolean refused;
    boolean parked;

    Row(UUID id, int number, String key, byte[] payload, boolean toasted) {
      this.id = id;
      this.number = number;
      this.key = key;
      this.payload = payload;
      this.toasted = toasted;
    }
  }

  private static final Schema ROW = CdcBatchFixture.ROW;
  private static final Schema SOURCE = CdcBatchFixture.SOURCE;
  private static final Schema ENVELOPE =
      SchemaBuilder.struct()
          .field("before", ROW)
          .field("after", ROW)
          .field("source", SOURCE)
          .field("op", Schema.STRING_SCHEMA)
          .build();

  final Map<UUID, Row> rows = new LinkedHashMap<>();

  /** Events in the order the broker wrote them. */
  final List<Row> log = new ArrayList<>();

  final List<String> wrongPayloads = new ArrayList<>();
  final List<String> miscounted = new ArrayList<>();

  /**
   * Events sent before the retry time they carried when selected (the failure this handler recorded
   * for them): as the polling model's check, a retry waits for its backoff.
   */
  final List<String> sentBeforeRetryTime = new ArrayList<>();

  final ModelClock clock = new ModelClock();
  private final Deque<SourceRecord> stream = new ArrayDeque<>();
  private final Iterator<Outcome> script;
  private final int batchSize;
  private final ChangeDecoder decoder = new ChangeDecoder(TABLE);
  private final CircuitBreaker breaker;
  private final ManagedBatchSender publisher;
  private DeliveryCore core;
  private boolean healthy;
  private long nextSeq = 1;
  private int nextNumber;
  private boolean engineStarted = true;
  private Map<Long, CdcRowStore.EarlierFailure> earlierFailures = Map.of();

  CdcDeliveryModel(int batchSize, List<Outcome> script) {
    this.batchSize = batchSize;
    // Played once, then the broker is healthy: a batch settles only once its trouble ends.
    this.script = List.copyOf(script).iterator();
    this.breaker =
        CircuitBreaker.of(
            "cdc-model",
            CircuitBreakerConfig.custom()
                .slidingWindowSize(4)
                .minimumNumberOfCalls(4)
                .failureRateThreshold(50)
                .waitDurationInOpenState(Duration.ofSeconds(5))
                .clock(clock)
                .build());
    this.publisher = ModelPublishers.create(clock, null, config -> new Producer());
    this.core = newCore();
  }

  private DeliveryCore newCore() {
    return new DeliveryCore(
        new DeliveryCore.Policy(
            4, IntervalFunction.ofExponentialBackoff(1000, 2.0, 60_000), null, clock),
        new KeyHolds(Duration.ofMillis(60_000), clock),
        breaker,
        new RelayMetrics(new SimpleMeterRegistry(), TABLE),
        publisher);
  }

  /** A writer appends an event (a large payload is TOASTed on PostgreSQL). */
  void append(int keyIndex, boolean large) {
    stream.add(change("c", newRow(keyIndex, large), false));
  }

  /**
   * Two writers append an event of one key each without serializing on the aggregate: the first
   * insert takes the lower {@code seq} but commits after the second, so the change stream carries
   * the two out of {@code seq} order (docs/consumers.md: such events have no order to keep, but
   * both must be published).
   */
  void appendTwoCommittedOutOfSeqOrder(int keyIndex) {
    Row first = newRow(keyIndex, false);
    Row second = newRow(keyIndex, false);
    stream.add(change("c", second, false));
    stream.add(change("c", first, false));
  }

  private Row newRow(int keyIndex, boolean large) {
    int number = nextNumber++;
    byte[] payload = new byte[large ? 20_000 : 16];
    Arrays.fill(payload, (byte) ('a' + number % 26));
    Row row = new Row(UUID.randomUUID(), number, "k" + keyIndex, payload, large);
    row.seq = nextSeq++;
    rows.put(row.id, row);
    return row;
  }

  /** An operator replays one parked event: its row is deleted and a fresh copy inserted. */
  void replayOneParked() {
    for (Row row : rows.values()) {
      if (row.status.equals("DEAD") && !row.deleted) {
        stream.add(change("d", row, false));
        row.seq = nextSeq++;
        row.status = "PENDING";
        row.attempts = 0;
        row.nextAttemptAt = null;
        row.replayed = true;
        stream.add(change("c", row, false));
        return;
      }
    }
  }

  /**
   * The engine reads and handles one batch; with {@code crash}, the process dies after publishing
   * and before the position is stored: the batch is read again by the next engine.
   */
  void handleBatch(boolean crash) {
    List<SourceRecord> batch = new ArrayList<>();
    while (batch.size() < batchSize && !stream.isEmpty()) {
      batch.add(stream.poll());
    }
    if (batch.isEmpty()) {
      return;
    }
    List<PendingEvent> changes = new ArrayList<>();
    for (SourceRecord record : batch) {
      ChangeDecoder.Change change = decoder.decode(record);
      if (change != null) {
        changes.add(change.event());
      }
    }
    if (engineStarted) {
      // CdcRowStore.failuresSoFar(): pending rows with attempts or a retry time recorded. A crash
      // in
      // this model comes only once a batch has settled (no lease loss or engine stop in the middle
      // of a retry wait), so a restored retry time is always past here: review19 F3 (a restart in
      // that wait, the retry time not restored) was out of reach of this model's retry-time check.
      // CdcRestartRetryTimeIntegrationTests covers it against the real handler.
      engineStarted = false;
      earlierFailures = new HashMap<>();
      for (Row row : rows.values()) {
        if (!row.deleted
            && row.status.equals("PENDING")
            && (row.attempts > 0 || row.nextAttemptAt != null)) {
          earlierFailures.put(
              row.seq, new CdcRowStore.EarlierFailure(row.attempts, row.nextAttemptAt));
        }
      }
    }
    List<Long> published = publish(changes.stream().map(this::withEarlierFailure).toList());
    if (crash) {
      for (Row row : rows.values()) {
        row.mayDuplicate |= published.contains(row.seq);
      }
      List<SourceRecord> again = new ArrayList<>(batch);
      for (int i = again.size() - 1; i >= 0; i--) {
        stream.addFirst(again.get(i));
      }
      engineStarted = true;
      core = newCore();
      return;
    }
    // CdcRowStore.markPublished: DELETE … WHERE seq IN (…), no status guard
    for (Row row : rows.values()) {
      if (!row.deleted && published.contains(row.seq)) {
        row.deleted = true;
        stream.add(change("d", row, false));
      }
    }
  }

  private PendingEvent withEarlierFailure(PendingEvent event) {
    CdcRowStore.EarlierFailure earlier = earlierFailures.remove(event.seq());
    return earlier == null ? event : CdcBatchHandler.withEarlierFailure(event, earlier);
  }

  /** {@code CdcBatchHandler.publish}, its waits done by moving the clock. */
  private List<Long> publish(List<PendingEvent> batch) {
    core.holds().clear();
    List<Long> acked = new ArrayList<>();
    List<PendingEvent> todo = new ArrayList<>(batch);
    for (int round = 0; !todo.isEmpty(); round++) {
      if (round > 10_000) {
        throw new AssertionError("a batch of " + batch.size() + " never settled");
      }
      if (!core.tryAcquire()) {
        clock.advance(Duration.ofSeconds(1));
        continue;
      }
      List<PendingEvent> selected = core.select(todo);
      if (selected.isEmpty()) {
        core.release();
        Instant due = core.holds().nextDue();
        long wait = due == null ? 10 : Duration.between(clock.instant(), due).toMillis();
        clock.advance(Duration.ofMillis(Math.max(10, Math.min(wait, 1000))));
        continue;
      }
      for (PendingEvent e : selected) {
        Instant due = e.nextAttemptAt();
        if (due != null && clock.instant().isBefore(due)) {
          sentBeforeRetryTime.add(
              "seq "
                  + e.seq()
                  + " (attempts "
                  + e.attempts()
                  + ") sent "
                  + Duration.between(clock.instant(), due).toMillis()
                  + " ms before its retry time, in a send of "
                  + selected.size());
        }
      }
      BatchSender.InFlight inFlight = publisher.send(selected);
      List<PublishResult> results = inFlight.await();
      clock.advance(Duration.ofMillis(5));
      DeliveryOutcome outcome = core.decide(results, 1_000_000);
      Map<Long, PendingEvent> replaced = new HashMap<>();
      Set<Long> done = new HashSet<>();
      for (PendingEvent e : outcome.acked()) {
        acked.add(e.seq());
        done.add(e.seq());
      }
      for (DeliveryOutcome.Failure f : outcome.parked()) {
        park(f);
        done.add(f.event().seq());
      }
      for (DeliveryOutcome.Failure f : outcome.retries()) {
        replaced.put(f.event().seq(), f.updated());
        recordRetry(f);
      }
      List<PendingEvent> next = new ArrayList<>(todo.size());
      for (PendingEvent e : todo) {
        if (!done.contains(e.seq())) {
          next.add(replaced.getOrDefault(e.seq(), e));
        }
      }
      todo = next;
    }
    return acked;
  }

  /** {@code CdcRowStore.park}: the row becomes {@code DEAD} (an update in the stream). */
  private void park(DeliveryOutcome.Failure f) {
    Row row = rows.get(f.event().event().id());
    if (!row.refused) {
      miscounted.add("event " + row.number + " parked though the broker never refused it");
    }
    if (!row.deleted && row.status.equals("PENDING") && row.seq == f.event().seq()) {
      row.status = "DEAD";
      row.attempts = f.attempts();
      row.parked = true;
      stream.add(change("u", row, true));
    }
  }

  /**
   * {@code CdcRowStore.recordRetries} ({@code OutboxRows.recordFailures}): {@code attempts}, {@code
   * next_attempt_at}, {@code last_error} on the {@code PENDING} row, an update in the stream; an
   * update that leaves the payload unchanged carries the placeholder for a TOASTed one.
   */
  private void recordRetry(DeliveryOutcome.Failure f) {
    Row row = rows.get(f.event().event().id());
    if (!row.deleted && row.status.equals("PENDING") && row.seq == f.event().seq()) {
      row.attempts = f.attempts();
      row.nextAttemptAt = f.nextAttemptAt();
      stream.add(change("u", row, true));
    }
  }

  /** Reads and handles the stream to its end with a healthy broker. */
  void drain() {
    healthy = true;
    for (int i = 0; i < 10_000 && !stream.isEmpty(); i++) {
      handleBatch(false);
    }
  }

  private SourceRecord change(String op, Row row, boolean update) {
    Struct image = new Struct(ROW);
    image.put("seq", row.seq);
    image.put("id", row.id.toString());
    image.put("aggregatetype", "Order");
    image.put("aggregateid", row.key);
    image.put("type", "Placed");
    image.put("payload", update && row.toasted ? UNAVAILABLE : row.payload);
    image.put("headers", null);
    image.put("tenant", null);
    image.put("created_at", "2026-12-01T00:00:00Z");
    image.put("partition_no", 0);
    image.put("status", row.status);
    image.put("attempts", row.attempts);
    Struct source = new Struct(SOURCE);
    source.put("table", TABLE);
    source.put("ts_ms", clock.millis());
    Struct value = new Struct(ENVELOPE);
    value.put("op", op);
    value.put("source", source);
    value.put("before", "c".equals(op) ? null : image);
    value.put("after", "d".equals(op) ? null : image);
    return new SourceRecord(
        Map.of("server", "model"), Map.of("lsn", row.seq), "cdc", ENVELOPE, value);
  }

  @Override
  public void close() {
    publisher.close(Duration.ZERO);
  }

  /**
   * The broker behind the real publisher: each record's answer comes from the script (a healthy
   * broker once draining), delivered through the callback as Kafka does.
   */
  private final class Producer extends MockProducer<byte[], byte[]> {
    Producer() {
      super(false, null, new ByteArraySerializer(), new ByteArraySerializer());
    }

    @Override
    public synchronized Future<RecordMetadata> send(
        ProducerRecord<byte[], byte[]> record, Callback callback) {
      Future<RecordMetadata> future = super.send(record, callback);
      Row row =
          rows.get(
              UUID.fromString(
                  new String(
                      record.headers().lastHeader(OutboxHeaders.EVENT_ID).value(),
                      StandardCharsets.UTF_8)));
      Outcome outcome = healthy || !script.hasNext() ? Outcome.ACK : script.next();
      switch (outcome) {
        case TIMEOUT -> errorNext(new TimeoutException("Expiring 1 record(s)"));
        case DENIED -> errorNext(new TopicAuthorizationException(Set.of(record.topic())));
        case REFUSED -> {
          row.refused = true;
          errorNext(new UnknownTopicOrPartitionException("This server does not host this topic"));
        }
        default -> {
          log.add(row);
          if (!Arrays.equals(record.value(), row.payload)) {
            wrongPayloads.add(
                "event "
                    + row.number
                    + " published with "
                    + new String(
                        record.value(),
                        0,
                        Math.min(40, record.value().length),
                        StandardCharsets.UTF_8)
                    + " ("
                    + record.value().length
                    + " bytes) instead of its "
                    + row.payload.length
                    + "-byte payload");
          }
          completeNext();
        }
      }
      return future;
    }
  }

  /** A clock the model moves by hand. */
  static final class ModelClock extends Clock {
    private Instant now = Instant.parse("2026-12-01T00:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }
}
