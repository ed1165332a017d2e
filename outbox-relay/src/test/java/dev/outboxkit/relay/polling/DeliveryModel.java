package dev.outboxkit.relay.polling;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.delivery.BatchSender;
import dev.outboxkit.relay.delivery.DeliveryCore;
import dev.outboxkit.relay.delivery.DeliveryOutcome;
import dev.outboxkit.relay.delivery.KeyHolds;
import dev.outboxkit.relay.delivery.PublishResult;
import dev.outboxkit.relay.delivery.PublishResult.FailureKind;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PauseSwitch;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.kafka.TransactionalCommits;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A server-free world for the polling relay's real {@link PublishLoop} and {@link DeliveryCore}: an
 * in-memory outbox with the SQL's read semantics, a broker whose answer to each send comes from a
 * script, a simulated clock, and crashes between the broker's acknowledgement and the mark.
 */
final class DeliveryModel {

  /** What the broker does with one handed-over event (when it is not deferred). */
  enum Outcome {
    /** Written and acknowledged. */
    ACK,
    /** Refused before the handover, about the event (missing topic): counts an attempt. */
    REFUSED,
    /** Refused before the handover for good (too large): parked at once. */
    TOO_LARGE,
    /** No metadata: fails at once, and the rest of the batch is deferred. */
    NO_METADATA,
    /** Handed over, no acknowledgement in time, but written (a duplicate to come). */
    TIMEOUT_WRITTEN,
    /** Handed over, no acknowledgement in time, not written. */
    TIMEOUT_LOST,
    /**
     * Refused at the handover for authorization (a {@code TopicAuthorizationException} while
     * fetching metadata during an ACL roll-out): fails at once, the rest of the batch is deferred.
     */
    DENIED,
    /**
     * Handed over, then refused by the broker's ACL check (an ACL changed mid-batch); not written.
     */
    DENIED_AFTER_HANDOVER,
    /**
     * The credentials expired: this and every later event of the batch that is handed over fail for
     * authorization (not deferred); nothing written.
     */
    DENIED_ALL,
    /**
     * Acknowledged, but with transactional fencing the commit of its partition's transaction times
     * out: the transaction is aborted (nothing of it visible). Without fencing: {@link #ACK}.
     */
    COMMIT_TIMEOUT,
    /**
     * Acknowledged, but the commit is refused for authorization ({@code
     * TransactionalIdAuthorizationException}): aborted. Without fencing: {@link #ACK}.
     */
    COMMIT_DENIED,
    /**
     * Acknowledged, but the partition's producer is fenced before the commit (the coordinator
     * aborted a transaction that outlived {@code transaction.timeout.ms} and bumped the epoch): the
     * commit fails with {@code ProducerFencedException}, the transaction is aborted. Without
     * fencing: {@link #ACK}.
     */
    COMMIT_FENCED
  }

  /** A row of the outbox. */
  static final class Row {
    final long seq;
    final int number;
    final String key;
    final int partition;
    String status = "PENDING";
    int attempts;
    Instant nextAttemptAt;
    boolean replayed;
    boolean mayDuplicate;

    /** Whether the broker ever refused it for a reason of its own (not the broker's health). */
    boolean refused;

    /**
     * How often the broker refused it for a reason of its own since its last replay: the most
     * attempts that may be counted for it (access, broker and commit failures count none).
     */
    int countable;

    /** The topic's length when it was last parked. */
    int parkedAt = -1;

    Row(long seq, int number, String key, int partition) {
      this.seq = seq;
      this.number = number;
      this.key = key;
      this.partition = partition;
    }

    @Override
    public String toString() {
      return "event " + number + " (" + key + ", " + status + ", attempts " + attempts + ")";
    }
  }

  final int partitions;
  final int batchSize;
  final int maxExcluded;
  final SimClock clock = new SimClock();
  final TreeMap<Long, Row> rows = new TreeMap<>();
  final Map<Long, UUID> ids = new HashMap<>();
  final Map<UUID, Row> byId = new HashMap<>();

  /** The topic: event numbers in the order the broker wrote them. */
  final List<Row> log = new ArrayList<>();

  final Set<Integer> poison;
  final Set<Integer> permanentPoison;
  private final Iterator<Outcome> script;
  private boolean scripted = true;
  private long nextSeq = 1;
  private int nextNumber;
  boolean crashAtNextMark;
  boolean failNextMark;
  int crashes;
  int sends;

  /** Transactions that did not commit. */
  int aborts;

  final List<List<Row>> batches = new ArrayList<>();

  /** Attempts recorded beyond what the broker's refusals allow, one line each. */
  final List<String> miscounted = new ArrayList<>();

  /** Whether the sender uses Kafka transactions (one per outbox partition and batch). */
  final boolean transactional;

  private final TransactionalCommits commits;

  private final PauseSwitch pause = new PauseSwitch();
  private final CircuitBreaker breaker;
  private final Sender sender = new Sender();
  private final Store store = new Store();
  private final Leases leases = new Leases();
  private KeyHolds holds;
  private PublishLoop loop;

  DeliveryModel(
      int partitions,
      int batchSize,
      List<Outcome> script,
      Set<Integer> poison,
      Set<Integer> permanentPoison) {
    this(partitions, batchSize, script, poison, permanentPoison, KeyHolds.MAX_EXCLUDED);
  }

  /**
   * @param maxExcluded how many waiting keys a read may leave out in SQL
   */
  DeliveryModel(
      int partitions,
      int batchSize,
      List<Outcome> script,
      Set<Integer> poison,
      Set<Integer> permanentPoison,
      int maxExcluded) {
    this(partitions, batchSize, script, poison, permanentPoison, maxExcluded, false);
  }

  /**
   * @param transactional whether batches go out in one Kafka transaction per outbox partition,
   *     their results mapped by the publisher's own {@code TransactionalProducers}
   */
  DeliveryModel(
      int partitions,
      int batchSize,
      List<Outcome> script,
      Set<Integer> poison,
      Set<Integer> permanentPoison,
      int maxExcluded,
      boolean transactional) {
    this.transactional = transactional;
    this.commits = new TransactionalCommits(clock);
    this.maxExcluded = maxExcluded;
    this.partitions = partitions;
    this.batchSize = batchSize;
    this.script = script.isEmpty() ? List.of(Outcome.ACK).iterator() : cycle(script);
    this.poison = poison;
    this.permanentPoison = permanentPoison;
    this.breaker =
        CircuitBreaker.of(
            "model",
            CircuitBreakerConfig.custom()
                .slidingWindowSize(4)
                .minimumNumberOfCalls(4)
                .failureRateThreshold(50)
                .waitDurationInOpenState(Duration.ofSeconds(5))
                .clock(clock)
                .build());
    newOwner();
  }

  private static Iterator<Outcome> cycle(List<Outcome> script) {
    return new Iterator<>() {
      int i;

      @Override
      public boolean hasNext() {
        return true;
      }

      @Override
      public Outcome next() {
        return script.get(i++ % script.size());
      }
    };
  }

  /** A new owner of every partition, as after a crash: state loaded from the rows. */
  void newOwner() {
    holds = new KeyHolds(maxExcluded);
    for (int p = 0; p < partitions; p++) {
      Map<String, Instant> retrying = new HashMap<>();
      for (Row row : rows.values()) {
        if (row.partition == p
            && row.status.equals("PENDING")
            && (row.attempts > 0 || row.nextAttemptAt != null)) {
          Instant at = row.nextAttemptAt == null ? Instant.EPOCH : row.nextAttemptAt;
          retrying.merge(row.key, at, (a, b) -> a.isBefore(b) ? a : b);
        }
      }
      holds.load(p, retrying);
    }
    DeliveryCore core =
        new DeliveryCore(
            new DeliveryCore.Policy(
                4, IntervalFunction.ofExponentialBackoff(1000, 2.0, 60_000), null, clock),
            holds,
            breaker,
            new RelayMetrics(new SimpleMeterRegistry(), "outbox_event"),
            sender);
    loop =
        new PublishLoop(
            store,
            leases,
            core,
            sender,
            new WakeUpSignal(),
            () -> true,
            pause,
            new PublishLoop.Pacing(batchSize, Duration.ofMillis(10), Duration.ofSeconds(1)),
            0,
            1);
  }

  void append(int keyIndex) {
    String key = "k" + keyIndex;
    Row row = new Row(nextSeq++, nextNumber++, key, Math.floorMod(key.hashCode(), partitions));
    rows.put(row.seq, row);
    UUID id = UUID.randomUUID();
    ids.put(row.seq, id);
    byId.put(id, row);
  }

  /** One step of the publishing thread, failures handled as its run loop does. */
  boolean step() {
    try {
      return loop.step();
    } catch (SQLException | RuntimeException e) {
      if (e instanceof Crash) {
        crashes++;
        newOwner();
      }
      return false;
    }
  }

  void tick(long millis) {
    clock.advance(Duration.ofMillis(millis));
  }

  /** Sends everything that can be sent with a healthy broker; poison events end parked. */
  void drain() {
    scripted = false;
    for (int i = 0; i < 5000 && pending() > 0; i++) {
      if (!step()) {
        Instant due = holds.nextDue();
        Instant now = clock.instant();
        long wait = due == null ? 10 : Math.max(10, Duration.between(now, due).toMillis() + 1);
        tick(Math.min(wait, 10_000));
      }
    }
  }

  void replayOneParked() {
    for (Row row : rows.values()) {
      if (row.status.equals("DEAD")) {
        row.status = "PENDING";
        row.attempts = 0;
        row.nextAttemptAt = null;
        row.replayed = true;
        row.countable = 0;
        return;
      }
    }
  }

  long pending() {
    return rows.values().stream().filter(r -> r.status.equals("PENDING")).count();
  }

  private PendingEvent pendingOf(Row row) {
    OutboxEvent event =
        new OutboxEvent(
            ids.get(row.seq),
            "T",
            row.key,
            "E",
            null,
            Map.of(),
            null,
            Instant.EPOCH,
            row.partition);
    return new PendingEvent(row.seq, event, row.attempts, row.nextAttemptAt);
  }

  private Row rowOf(PendingEvent event) {
    return byId.get(event.event().id());
  }

  static final class Crash extends RuntimeException {
    Crash() {
      super("crash between the acknowledgement and the mark");
    }
  }

  final class Store implements PollingStore {
    @Override
    public OutboxRows.Fetched fetch(
        Set<Integer> owned,
        int perPartition,
        Map<Integer, List<String>> excluded,
        List<PendingEvent> inFlight,
        Map<Integer, Long> after,
        long maxBytes) {
      Set<Long> sent = new HashSet<>();
      inFlight.forEach(e -> sent.add(e.seq()));
      List<PendingEvent> out = new ArrayList<>();
      Set<Integer> full = new HashSet<>();
      for (int p : owned) {
        int n = 0;
        List<String> skip = excluded.getOrDefault(p, List.of());
        long from = after.getOrDefault(p, 0L);
        // As the SQL: past the read position, no key that has a pending row up to it.
        Set<String> below = new HashSet<>();
        for (Row row : rows.values()) {
          if (row.partition == p && row.status.equals("PENDING") && row.seq <= from) {
            below.add(row.key);
          }
        }
        for (Row row : rows.values()) {
          if (row.partition != p
              || !row.status.equals("PENDING")
              || skip.contains(row.key)
              || sent.contains(row.seq)
              || row.seq <= from
              || below.contains(row.key)) {
            continue;
          }
          out.add(pendingOf(row));
          if (++n >= perPartition) {
            full.add(p);
            break;
          }
        }
      }
      out.sort((a, b) -> Long.compare(a.seq(), b.seq()));
      return new OutboxRows.Fetched(out, full);
    }

    @Override
    public void record(DeliveryOutcome outcome) throws SQLException {
      if (crashAtNextMark || failNextMark) {
        boolean crash = crashAtNextMark;
        crashAtNextMark = false;
        failNextMark = false;
        outcome.acked().forEach(e -> rowOf(e).mayDuplicate = true);
        if (crash) {
          throw new Crash();
        }
        throw new SQLException("connection reset while marking");
      }
      for (PendingEvent e : outcome.acked()) {
        Row row = rowOf(e);
        if (row.status.equals("PENDING")) {
          row.status = "PUBLISHED";
        }
      }
      for (DeliveryOutcome.Failure f : outcome.retries()) {
        Row row = rowOf(f.event());
        checkAttempts(row, f);
        if (row.status.equals("PENDING")) {
          row.attempts = f.attempts();
          row.nextAttemptAt = f.nextAttemptAt();
        }
      }
      for (DeliveryOutcome.Failure f : outcome.parked()) {
        Row row = rowOf(f.event());
        checkAttempts(row, f);
        if (row.status.equals("PENDING")) {
          row.parkedAt = log.size();
          row.status = "DEAD";
          row.attempts = f.attempts();
          row.nextAttemptAt = null;
        }
      }
    }
  }

  private void checkAttempts(Row row, DeliveryOutcome.Failure f) {
    if (row.status.equals("PENDING") && f.attempts() > row.countable) {
      miscounted.add(
          "event "
              + row.number
              + " recorded with "
              + f.attempts()
              + " attempt(s) though the broker refused it "
              + row.countable
              + " time(s) on its own account");
    }
  }

  /** Shuts the transactional commit threads down. */
  void close() {
    commits.close();
  }

  final class Leases implements PartitionLeases {
    @Override
    public Set<Integer> beginBatch(int slot, int slots) {
      Set<Integer> all = new HashSet<>();
      for (int p = 0; p < partitions; p++) {
        all.add(p);
      }
      return all;
    }

    @Override
    public boolean stillOwns(Set<Integer> owned) {
      return true;
    }

    @Override
    public void endBatch(Set<Integer> owned) {}
  }

  /**
   * Follows {@link BatchSender}'s contract, with the broker's answers taken from the script. With
   * transactions, each outbox partition's events of a batch go out in one transaction on a mock
   * producer; a record that failed after the handover, or a scripted commit failure, aborts it, and
   * the real {@code TransactionalProducers} turns the records' results into the batch's results.
   * Only committed records reach the topic ({@code read_committed}).
   */
  final class Sender implements BatchSender {
    @Override
    public InFlight send(List<PendingEvent> batch) {
      sends++;
      List<Row> handed = new ArrayList<>();
      List<PublishResult> results = new ArrayList<>();
      Set<String> held = new HashSet<>();
      Set<String> failedAfterHandover = new HashSet<>();
      Map<Integer, Producer<byte[], byte[]>> open = new LinkedHashMap<>();
      Map<Integer, RuntimeException> commitFails = new HashMap<>();
      List<Row> written = new ArrayList<>();
      Set<Integer> fenced = new HashSet<>();
      boolean unreachable = false;
      boolean denyRest = false;
      for (PendingEvent e : batch) {
        Row row = rowOf(e);
        handed.add(row);
        if (unreachable || held.contains(e.key())) {
          results.add(new PublishResult.Deferred(e));
          continue;
        }
        Outcome outcome;
        if (permanentPoison.contains(row.number)) {
          outcome = Outcome.TOO_LARGE;
        } else if (poison.contains(row.number)) {
          outcome = Outcome.REFUSED;
        } else if (denyRest) {
          outcome = Outcome.DENIED_AFTER_HANDOVER;
        } else if (failedAfterHandover.contains(e.key())) {
          // The idempotent producer's ordered retries: later records of a key fail with it.
          outcome = Outcome.TIMEOUT_LOST;
        } else {
          outcome = scripted ? script.next() : Outcome.ACK;
        }
        if (outcome != Outcome.REFUSED && outcome != Outcome.TOO_LARGE && transactional) {
          // The record reaches the producer: its partition's transaction begins.
          open.computeIfAbsent(row.partition, p -> begun());
        }
        switch (outcome) {
          case ACK, COMMIT_TIMEOUT, COMMIT_DENIED, COMMIT_FENCED -> {
            written.add(row);
            results.add(new PublishResult.Acked(e, clock.instant()));
            if (outcome == Outcome.COMMIT_TIMEOUT) {
              commitFails.putIfAbsent(row.partition, new TimeoutException("commit timed out"));
            } else if (outcome == Outcome.COMMIT_FENCED) {
              fenced.add(row.partition);
            } else if (outcome == Outcome.COMMIT_DENIED) {
              commitFails.putIfAbsent(
                  row.partition, new TransactionalIdAuthorizationException("not authorized"));
            }
          }
          case REFUSED -> {
            row.refused = true;
            row.countable++;
            held.add(e.key());
            results.add(new PublishResult.Failed(e, "missing topic", FailureKind.EVENT));
          }
          case TOO_LARGE -> {
            row.refused = true;
            row.countable++;
            held.add(e.key());
            results.add(new PublishResult.Failed(e, "too large", FailureKind.PERMANENT));
          }
          case NO_METADATA, DENIED -> {
            held.add(e.key());
            unreachable = true;
            broken(commitFails, row);
            results.add(
                outcome == Outcome.DENIED
                    ? new PublishResult.Failed(e, "TopicAuthorizationException", FailureKind.ACCESS)
                    : new PublishResult.Failed(e, "no metadata", FailureKind.BROKER));
          }
          case DENIED_AFTER_HANDOVER, DENIED_ALL -> {
            failedAfterHandover.add(e.key());
            denyRest |= outcome == Outcome.DENIED_ALL;
            broken(commitFails, row);
            results.add(new PublishResult.Failed(e, "not authorized to write", FailureKind.ACCESS));
          }
          case TIMEOUT_WRITTEN -> {
            written.add(row);
            // Written though unacknowledged: a duplicate to come, unless its transaction aborts.
            row.mayDuplicate |= !transactional;
            failedAfterHandover.add(e.key());
            broken(commitFails, row);
            results.add(new PublishResult.Failed(e, "timeout", FailureKind.BROKER));
          }
          case TIMEOUT_LOST -> {
            failedAfterHandover.add(e.key());
            broken(commitFails, row);
            results.add(new PublishResult.Failed(e, "timeout", FailureKind.BROKER));
          }
        }
      }
      batches.add(handed);
      List<PublishResult> done;
      if (transactional) {
        commitFails.forEach(
            (partition, error) -> {
              Producer<byte[], byte[]> p = open.get(partition);
              if (p != null) {
                ((MockProducer<byte[], byte[]>) p).commitTransactionException = error;
              }
            });
        fenced.forEach(
            partition -> ((MockProducer<byte[], byte[]>) open.get(partition)).fenceProducer());
        done = commits.awaitCommits(batch, results, open);
        open.values().stream()
            .filter(p -> !((MockProducer<byte[], byte[]>) p).transactionCommitted())
            .forEach(p -> aborts++);
        for (Row row : written) {
          if (((MockProducer<byte[], byte[]>) open.get(row.partition)).transactionCommitted()) {
            log.add(row);
          }
        }
      } else {
        log.addAll(written);
        done = List.copyOf(results);
      }
      return new InFlight() {
        @Override
        public List<PendingEvent> batch() {
          return batch;
        }

        @Override
        public List<PublishResult> await() {
          return done;
        }
      };
    }

    /** A record of the partition failed after the handover: its transaction cannot commit. */
    private void broken(Map<Integer, RuntimeException> commitFails, Row row) {
      if (transactional) {
        commitFails.put(
            row.partition, new KafkaException("Cannot commit: a record of the transaction failed"));
      }
    }

    private Producer<byte[], byte[]> begun() {
      MockProducer<byte[], byte[]> p =
          new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
      p.initTransactions();
      p.beginTransaction();
      return p;
    }

    @Override
    public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
      return true;
    }
  }

  /** A clock the model moves by hand. */
  static final class SimClock extends Clock {
    private Instant now = Instant.parse("2026-12-01T00:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public Instant instant() {
      return now;
    }

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }
}
