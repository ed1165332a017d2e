package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PauseSwitch;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.relay.internal.delivery.DeliveryCore;
import dev.outboxkit.relay.internal.delivery.DeliveryOutcome;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.relay.internal.delivery.ManagedBatchSender;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.internal.delivery.PublishResult.FailureKind;
import dev.outboxkit.relay.internal.kafka.ModelPublishers;
import dev.outboxkit.relay.internal.kafka.TransactionalCommits;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.core.IntervalFunction;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
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
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jspecify.annotations.Nullable;

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
    COMMIT_FENCED,
    /**
     * With the real publisher: the producer entered its fatal error state in the background before
     * this send (a {@code ClusterAuthorizationException} on {@code InitProducerId} during an ACL
     * roll-out): it and every later send on it throw {@code KafkaException("…in an error state")}.
     * Only a new producer helps. With the scripted sender: {@link #ACK}.
     */
    PRODUCER_BROKEN,
    /**
     * With the real publisher: this record fails with a fatal {@code
     * ClusterAuthorizationException}, which leaves the producer in its error state. With the
     * scripted sender: {@link #ACK}.
     */
    FATAL,
    /**
     * With the real publisher and fencing: the partition's producer is fenced while this record is
     * in flight ({@code ProducerFencedException}); every later call on it fails. Otherwise: {@link
     * #ACK}.
     */
    FENCED
  }

  /** A row of the outbox. */
  static final class Row {
    final long seq;
    final int number;
    final String key;
    final int partition;
    final byte[] payload;
    String status = "PENDING";

    /** Whether its transaction committed: until then no read sees it. */
    boolean committed = true;

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
      this.payload =
          ("{\"event\":" + number + "}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
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

  /** The table: the rows there now, by {@code seq} (a replay replaces a row by a new one). */
  final TreeMap<Long, Row> rows = new TreeMap<>();

  /**
   * Every row ever written, by {@code seq}: what a batch read under an old {@code seq} refers to.
   */
  private final Map<Long, Row> incarnations = new HashMap<>();

  final Map<Long, UUID> ids = new HashMap<>();

  /** The latest row of each event id. */
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

  /**
   * Review6: at the next mark, before its statements take effect, every instance loses and claims
   * again each lease it holds, as its lease thread does while the publishing thread waits for the
   * database in {@code store.record} (a lock wait, a slow commit): {@code LeaseManager} drops the
   * partition's holds when it finds the lease lost, and {@code Rebalancer.claim} loads them again
   * from the rows, which do not show the batch's failures yet (they are uncommitted).
   */
  boolean reclaimLeasesAtNextMark;

  /**
   * The same claim, made at the first clock read after the next mark instead of during it, and 5 s
   * passing then (past a first retry's backoff): the delivery core's selection of the batch read
   * ahead, after the publishing loop checked whether a claim came during the mark.
   */
  boolean reclaimLeasesAfterNextMark;

  /** The store's check of held rows ({@code pending}) throws a runtime exception. */
  boolean pendingThrows;

  /**
   * Review9: at the next read, after its rows were selected from the table and before the relay
   * looks at them, every instance loses and claims again each lease it holds (the lease thread
   * lands while the publishing thread's read is on the wire): the holds that read was left out by
   * are replaced by holds loaded from the rows.
   */
  boolean reclaimLeasesAtNextFetch;

  /** The {@code seq}s of each check of held rows ({@code pending}) the relay asked, in order. */
  final List<List<Long>> pendingChecks = new ArrayList<>();

  int crashes;
  int sends;

  /** Transactions that did not commit. */
  int aborts;

  final List<List<Row>> batches = new ArrayList<>();

  /** Records whose value is not the payload their row committed, one line each. */
  final List<String> wrongPayloads = new ArrayList<>();

  /** Open writer transactions by slot: their rows have a {@code seq} but are not visible yet. */
  final Map<Integer, List<Row>> openTransactions = new TreeMap<>();

  /**
   * The open transaction that wrote each key: another writer of the key waits for it (the
   * aggregate's row lock), so per key, commit order is {@code seq} order.
   */
  private final Map<String, Integer> keyLocks = new HashMap<>();

  /** Whether batches go through the real {@code KafkaEventPublisher} over scripted producers. */
  final boolean realPublisher;

  private @Nullable ManagedBatchSender publisher;

  /** Attempts recorded beyond what the broker's refusals allow, one line each. */
  final List<String> miscounted = new ArrayList<>();

  /** Whether the sender uses Kafka transactions (one per outbox partition and batch). */
  final boolean transactional;

  private final TransactionalCommits commits;

  private final PauseSwitch pause = new PauseSwitch();
  private final CircuitBreaker breaker;
  private final Sender sender = new Sender();
  private final Store store = new Store();
  private final BatchSender active;

  /** The relay instances; each owns some partitions (all of them when there is one). */
  private final List<Instance> instances = new ArrayList<>();

  private int nextInstance;

  /** Leases moved from one instance to another. */
  int moves;

  /** Leases taken from an instance frozen in the middle of a batch. */
  int steals;

  /** Batches whose outcome an instance recorded after it lost a lease of theirs. */
  int lateOutcomes;

  /** Outcomes recorded for a row that a replay had replaced by a copy meanwhile. */
  int outcomesForReplacedRows;

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
    this(partitions, batchSize, script, poison, permanentPoison, maxExcluded, transactional, false);
  }

  /**
   * @param realPublisher whether batches go through the real {@code KafkaEventPublisher} (and with
   *     {@code transactional} its {@code TransactionalProducers}) over {@link ScriptedProducer}s,
   *     instead of the scripted sender
   */
  DeliveryModel(
      int partitions,
      int batchSize,
      List<Outcome> script,
      Set<Integer> poison,
      Set<Integer> permanentPoison,
      int maxExcluded,
      boolean transactional,
      boolean realPublisher) {
    this.transactional = transactional;
    this.realPublisher = realPublisher;
    this.active = realPublisher ? new RealSender() : sender;
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
    if (publisher != null) {
      publisher.close(Duration.ZERO); // the crashed process's producers are gone
      publisher = null;
    }
    if (instances.isEmpty()) {
      Instance only = new Instance();
      for (int p = 0; p < partitions; p++) {
        only.owned.add(p);
      }
      instances.add(only);
    }
    instances.forEach(Instance::restart);
  }

  /**
   * Splits the partitions between two relay instances (even and odd), each with its own key holds,
   * delivery core and publishing loop. Only with the scripted sender (one producer per instance
   * would be needed for the real publisher).
   */
  void twoInstances() {
    if (realPublisher) {
      throw new IllegalStateException("moving leases needs the scripted sender");
    }
    Instance odd = new Instance();
    instances.get(0).owned.removeIf(p -> p % 2 == 1);
    for (int p = 1; p < partitions; p += 2) {
      odd.owned.add(p);
    }
    instances.add(odd);
    instances.forEach(Instance::restart);
  }

  /**
   * Hands partition {@code p} (mod the partitions) to the other instance, as a rebalance does: the
   * owner finishes its batch in flight and drops the partition's state; the new owner claims it and
   * loads its state from the rows, as {@code LeaseManager} does.
   */
  void moveLease(int p) {
    if (instances.size() < 2) {
      return;
    }
    int partition = Math.floorMod(p, partitions);
    Instance from = instances.stream().filter(i -> i.owned.contains(partition)).findFirst().get();
    Instance to = instances.get(0) == from ? instances.get(1) : instances.get(0);
    if (from.frozen) {
      // A frozen owner finishes nothing: its batch in flight stays late (see stealLease).
      hand(from, to, partition);
      return;
    }
    from.loop.finishInFlight();
    from.owned.remove(partition);
    from.holds.drop(partition);
    to.owned.add(partition);
    to.holds.load(partition, retrying(partition));
    moves++;
  }

  /**
   * Takes partition {@code p} (mod the partitions) from its owner in the middle of a batch, as when
   * the owner freezes (a long GC pause, a stopped VM) after handing its batch over: its lease
   * lapses and the other instance claims it and loads its state from the rows. The frozen owner
   * does nothing until {@link #wake}: its batch in flight stays in flight, and its outcome (acks,
   * failures, retries, parks) is recorded late, after the other instance may have sent, published
   * or parked the same events, or after the lease came back to it ({@link #moveLease} to a frozen
   * instance is a claim it makes on waking, before its publishing thread goes on). Its key holds of
   * the partition are dropped, as the lease manager does when it finds the lease gone.
   */
  void stealLease(int p) {
    if (instances.size() < 2) {
      return;
    }
    int partition = Math.floorMod(p, partitions);
    // Preferably a partition of a batch in flight (the interesting case), chosen by p.
    List<Integer> inFlight = new ArrayList<>();
    for (Instance owner : instances) {
      if (owner.inFlight != null) {
        owner.inFlight.stream()
            .map(row -> row.partition)
            .filter(owner.owned::contains)
            .distinct()
            .sorted()
            .forEach(inFlight::add);
      }
    }
    if (!inFlight.isEmpty()) {
      partition = inFlight.get(Math.floorMod(p, inFlight.size()));
    }
    int stolen = partition;
    Instance from = instances.stream().filter(i -> i.owned.contains(stolen)).findFirst().get();
    Instance to = instances.get(0) == from ? instances.get(1) : instances.get(0);
    from.frozen = true;
    hand(from, to, partition);
    steals++;
  }

  /** Hands {@code partition} over from a frozen owner, whose batch in flight stays late. */
  private void hand(Instance from, Instance to, int partition) {
    if (from.inFlight != null) {
      from.stolenSinceSend = true;
      for (Row row : from.inFlight) {
        if (row.partition == partition) {
          // Handed over by the frozen owner, and sent again by the new one: the duplicates that
          // fencing by lease bounds to the batch in flight.
          row.mayDuplicate = true;
        }
      }
    }
    from.owned.remove(partition);
    from.holds.drop(partition);
    to.owned.add(partition);
    to.holds.load(partition, retrying(partition));
    moves++;
  }

  /** Every frozen instance goes on: its next step records its late batch's outcome. */
  void wake() {
    instances.forEach(i -> i.frozen = false);
  }

  /** The keys of a partition that failed before, by their rows, as a lease claim loads them. */
  private Map<String, Instant> retrying(int p) {
    Map<String, Instant> retrying = new HashMap<>();
    for (Row row : rows.values()) {
      if (row.partition == p
          && row.committed
          && row.status.equals("PENDING")
          && (row.attempts > 0 || row.nextAttemptAt != null)) {
        Instant at = row.nextAttemptAt == null ? Instant.EPOCH : row.nextAttemptAt;
        retrying.merge(row.key, at, (a, b) -> a.isBefore(b) ? a : b);
      }
    }
    return retrying;
  }

  /** One relay instance: its leases, key holds, delivery core and publishing loop. */
  final class Instance implements PartitionLeases {
    final Set<Integer> owned = new java.util.TreeSet<>();
    KeyHolds holds;
    PublishLoop loop;

    /** Frozen (see {@link #stealLease}): its steps do nothing until {@link #wake}. */
    boolean frozen;

    /** The rows of its batch handed over and not yet awaited, if any. */
    @Nullable List<Row> inFlight;

    /** Whether a lease of its batch in flight was taken since the batch was handed over. */
    boolean stolenSinceSend;

    /** {@link #active}, noting the batch in flight until the loop awaits its outcome. */
    private final BatchSender noted =
        new BatchSender() {
          @Override
          public InFlight send(List<PendingEvent> batch) {
            InFlight sending = active.send(batch);
            inFlight = batch.stream().map(DeliveryModel.this::rowOf).toList();
            stolenSinceSend = false;
            return new InFlight() {
              @Override
              public List<PendingEvent> batch() {
                return sending.batch();
              }

              @Override
              public List<PublishResult> await() {
                if (stolenSinceSend) {
                  lateOutcomes++;
                }
                stolenSinceSend = false;
                inFlight = null;
                return sending.await();
              }
            };
          }

          @Override
          public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
            return active.sendDeadLetter(event, topic, error);
          }
        };

    /** Started afresh (after a crash): state loaded from the rows. */
    void restart() {
      inFlight = null; // the crashed process's batch is gone with it
      stolenSinceSend = false;
      // The relay's longest backoff (the policy's below) and its clock, read without running
      // atNextRead: a load is the lease thread's, not the read the hook waits for.
      holds = new KeyHolds(maxExcluded, Duration.ofMillis(60_000), clock.peeking());
      for (int p : owned) {
        holds.load(p, retrying(p));
      }
      DeliveryCore core =
          new DeliveryCore(
              new DeliveryCore.Policy(
                  4, IntervalFunction.ofExponentialBackoff(1000, 2.0, 60_000), null, clock),
              holds,
              breaker,
              new RelayMetrics(new SimpleMeterRegistry(), "outbox_event"),
              active);
      loop =
          new PublishLoop(
              store,
              this,
              core,
              noted,
              new WakeUpSignal(),
              () -> true,
              pause,
              // Reads grow under a backlog (up to four times), as with the default batch size.
              new PublishLoop.Pacing(
                  batchSize,
                  batchSize * 4,
                  dev.outboxkit.relay.RelayDefaults.BATCH_BYTES,
                  Duration.ofMillis(10),
                  Duration.ofSeconds(1)),
              0,
              1);
    }

    @Override
    public Set<Integer> beginBatch(int slot, int slots) {
      return new HashSet<>(owned);
    }

    @Override
    public boolean stillOwns(Set<Integer> partitions) {
      return owned.containsAll(partitions);
    }

    @Override
    public void endBatch(Set<Integer> partitions) {}
  }

  /**
   * A writer appends an event and commits; if an open transaction holds the key, the writer waits
   * for its lock, so the event commits with it (after it, in {@code seq} order).
   */
  void append(int keyIndex) {
    Integer holder = keyLocks.get("k" + keyIndex);
    if (holder != null) {
      appendIn(holder, keyIndex);
    } else {
      insert(keyIndex);
    }
  }

  /**
   * A writer's open transaction {@code slot} appends an event: it gets its {@code seq} now and
   * becomes visible when the transaction commits. A key held by another open transaction joins that
   * one instead (the writer waits for the aggregate's lock).
   */
  void appendIn(int slot, int keyIndex) {
    int tx = keyLocks.getOrDefault("k" + keyIndex, slot);
    Row row = insert(keyIndex);
    row.committed = false;
    openTransactions.computeIfAbsent(tx, t -> new ArrayList<>()).add(row);
    keyLocks.put(row.key, tx);
  }

  /** Commits the open transaction {@code slot}, if any: its rows become visible at once. */
  void commit(int slot) {
    List<Row> written = openTransactions.remove(slot);
    if (written != null) {
      written.forEach(r -> r.committed = true);
      keyLocks.values().removeIf(t -> t == slot);
    }
  }

  /** Commits every open transaction, oldest slot first. */
  void commitAll() {
    List.copyOf(openTransactions.keySet()).forEach(this::commit);
  }

  private Row insert(int keyIndex) {
    String key = "k" + keyIndex;
    Row row = new Row(nextSeq++, nextNumber++, key, Math.floorMod(key.hashCode(), partitions));
    rows.put(row.seq, row);
    incarnations.put(row.seq, row);
    UUID id = UUID.randomUUID();
    ids.put(row.seq, id);
    byId.put(id, row);
    return row;
  }

  /** One step of the publishing thread, failures handled as its run loop does. */
  boolean step() {
    Instance instance = instances.get(nextInstance++ % instances.size());
    if (instance.frozen) {
      return false;
    }
    try {
      return instance.loop.step();
    } catch (SQLException | RuntimeException e) {
      if (e instanceof Crash) {
        crashes++;
        if (instances.size() == 1) {
          newOwner();
        } else {
          instance.restart();
        }
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
    wake();
    commitAll();
    for (int i = 0; i < 5000 && pending() > 0; i++) {
      if (!step()) {
        Instant due =
            instances.stream()
                .map(instance -> instance.holds.nextDue())
                .filter(java.util.Objects::nonNull)
                .min(Instant::compareTo)
                .orElse(null);
        Instant now = clock.instant();
        long wait = due == null ? 10 : Math.max(10, Duration.between(now, due).toMillis() + 1);
        tick(Math.min(wait, 10_000));
      }
    }
  }

  /**
   * An operator replays the oldest parked event, as {@code JdbcParkedEvents} does: its row is
   * deleted and a pending copy inserted with the same id and a new {@code seq}. A batch read before
   * still refers to the old row by its {@code seq}; a late outcome of it must not touch the copy.
   */
  void replayOneParked() {
    for (Row row : rows.values()) {
      if (row.status.equals("DEAD") && row.committed) {
        rows.remove(row.seq);
        Row copy = new Row(nextSeq++, row.number, row.key, row.partition);
        copy.replayed = true;
        // Sent again on the operator's word: a copy of an event the topic already has (a late
        // batch of a frozen owner may have written it before another instance parked it) is a
        // duplicate asked for.
        copy.mayDuplicate =
            row.mayDuplicate || log.stream().anyMatch(written -> written.number == row.number);
        rows.put(copy.seq, copy);
        incarnations.put(copy.seq, copy);
        UUID id = ids.get(row.seq);
        ids.put(copy.seq, id);
        byId.put(id, copy);
        return;
      }
    }
  }

  /**
   * The keys some instance still holds in a partition it owns, as "instance i: partition p key k"
   * (review6: a hold that outlives every pending row of its key).
   */
  List<String> heldKeysOfOwnedPartitions() {
    List<String> held = new ArrayList<>();
    for (int i = 0; i < instances.size(); i++) {
      Instance instance = instances.get(i);
      for (int p : instance.owned) {
        for (int k = 0; k < 10; k++) {
          if (instance.holds.isHeld(p, "k" + k)) {
            held.add("instance " + i + ": partition " + p + " key k" + k);
          }
        }
      }
    }
    return held;
  }

  long pending() {
    return rows.values().stream().filter(r -> r.committed && r.status.equals("PENDING")).count();
  }

  private PendingEvent pendingOf(Row row) {
    OutboxEvent event =
        new OutboxEvent(
            ids.get(row.seq),
            "T",
            row.key,
            "E",
            row.payload,
            Map.of(),
            null,
            Instant.EPOCH,
            row.partition);
    return new PendingEvent(row.seq, event, row.attempts, row.nextAttemptAt);
  }

  /** The row an event was read from: by {@code seq}, as the relay's statements find it. */
  private Row rowOf(PendingEvent event) {
    return incarnations.get(event.seq());
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
              || !row.committed
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
      if (reclaimLeasesAtNextFetch) {
        reclaimLeasesAtNextFetch = false;
        reclaimLeases();
      }
      return new OutboxRows.Fetched(out, full);
    }

    @Override
    public Set<Long> pending(java.util.Collection<Long> seqs) {
      pendingChecks.add(List.copyOf(seqs));
      if (pendingThrows) {
        throw new IllegalStateException("the check of held rows failed unexpectedly");
      }
      Set<Long> pending = new java.util.HashSet<>();
      for (Row row : rows.values()) {
        if (seqs.contains(row.seq) && row.status.equals("PENDING")) {
          pending.add(row.seq);
        }
      }
      return pending;
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
      if (reclaimLeasesAtNextMark) {
        reclaimLeasesAtNextMark = false;
        reclaimLeases();
      }
      if (reclaimLeasesAfterNextMark) {
        reclaimLeasesAfterNextMark = false;
        clock.atNextRead =
            () -> {
              reclaimLeases();
              clock.advance(Duration.ofSeconds(5)); // past the refused event's retry
            };
      }
      // As the statements: by seq, and only a row that is still pending.
      List<PendingEvent> decided = new ArrayList<>(outcome.acked());
      outcome.retries().forEach(f -> decided.add(f.event()));
      outcome.parked().forEach(f -> decided.add(f.event()));
      for (PendingEvent e : decided) {
        if (byId.get(e.event().id()).seq != e.seq()) {
          outcomesForReplacedRows++;
        }
      }
      for (PendingEvent e : outcome.acked()) {
        Row row = rows.get(e.seq());
        if (row != null && row.status.equals("PENDING")) {
          row.status = "PUBLISHED";
        }
      }
      for (DeliveryOutcome.Failure f : outcome.retries()) {
        Row row = rows.get(f.event().seq());
        if (row != null && row.status.equals("PENDING")) {
          checkAttempts(row, f);
          row.attempts = Math.max(row.attempts, f.attempts()); // GREATEST, as the statement
          row.nextAttemptAt = f.nextAttemptAt();
        }
      }
      for (DeliveryOutcome.Failure f : outcome.parked()) {
        Row row = rows.get(f.event().seq());
        if (row != null && row.status.equals("PENDING")) {
          checkAttempts(row, f);
          row.parkedAt = log.size();
          row.status = "DEAD";
          row.attempts = Math.max(row.attempts, f.attempts());
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

  /** What the real publisher's scripted producers report to (only with the real publisher). */
  ScriptedProducer.World world() {
    return (RealSender) active;
  }

  /** The record the publisher makes of a row, as far as {@link ScriptedProducer.World} reads it. */
  ProducerRecord<byte[], byte[]> recordOf(Row row) {
    byte[] id = ids.get(row.seq).toString().getBytes(StandardCharsets.UTF_8);
    ProducerRecord<byte[], byte[]> record =
        new ProducerRecord<>("T", row.key.getBytes(StandardCharsets.UTF_8), row.payload);
    record.headers().add(OutboxHeaders.EVENT_ID, id);
    return record;
  }

  /** Shuts the transactional commit threads and the real publisher's producers down. */
  void close() {
    commits.close();
    if (publisher != null) {
      publisher.close(Duration.ZERO);
      publisher = null;
    }
  }

  /**
   * The real publisher over scripted producers: the script decides each record's fate in {@link
   * ScriptedProducer}; the publisher, its {@code TransactionalProducers} and {@code KafkaErrors}
   * decide what the relay makes of it.
   */
  final class RealSender implements BatchSender, ScriptedProducer.World {
    @Override
    public InFlight send(List<PendingEvent> batch) {
      sends++;
      noteSentBeforeRetryTime(batch);
      batches.add(batch.stream().map(DeliveryModel.this::rowOf).toList());
      if (publisher == null) {
        publisher =
            ModelPublishers.create(
                clock,
                transactional ? "model" : null,
                config -> new ScriptedProducer(this, transactional));
      }
      return publisher.send(batch);
    }

    @Override
    public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
      return true;
    }

    private Row rowOf(ProducerRecord<byte[], byte[]> record) {
      return byId.get(
          UUID.fromString(
              new String(
                  record.headers().lastHeader(OutboxHeaders.EVENT_ID).value(),
                  java.nio.charset.StandardCharsets.UTF_8)));
    }

    @Override
    public Outcome outcome(ProducerRecord<byte[], byte[]> record) {
      Row row = rowOf(record);
      if (permanentPoison.contains(row.number)) {
        return Outcome.TOO_LARGE;
      }
      if (poison.contains(row.number)) {
        return Outcome.REFUSED;
      }
      return scripted ? script.next() : Outcome.ACK;
    }

    @Override
    public void refused(ProducerRecord<byte[], byte[]> record) {
      Row row = rowOf(record);
      row.refused = true;
      row.countable++;
    }

    /**
     * Called from the publisher's commit threads, several at once: a batch's partitions commit side
     * by side. The topic is written under its lock, or two commits writing at once lose a record
     * (an event the model then reports lost though the publisher did nothing wrong). The publishing
     * thread reads the topic only after it joined the commits.
     */
    @Override
    public void written(ProducerRecord<byte[], byte[]> record) {
      Row row = rowOf(record);
      synchronized (log) {
        log.add(row);
        if (!java.util.Arrays.equals(record.value(), row.payload)) {
          wrongPayloads.add(
              "event "
                  + row.number
                  + " published with a payload of "
                  + (record.value() == null ? 0 : record.value().length)
                  + " bytes, not its own");
        }
      }
    }

    @Override
    public void unacknowledged(ProducerRecord<byte[], byte[]> record) {
      rowOf(record).mayDuplicate = true;
    }
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
      noteRetriesNotAlone(batch);
      noteSentBeforeRetryTime(batch);
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

  /**
   * Review9: a late outcome of another instance wrote an earlier retry time than this instance's
   * over each failed pending row ({@code next_attempt_at = ?} is not monotonic): due now.
   */
  void hastenRetries() {
    for (Row row : rows.values()) {
      if (row.status.equals("PENDING") && row.nextAttemptAt != null) {
        row.nextAttemptAt = clock.instant();
      }
    }
  }

  /**
   * Review9: batches in which an event whose failure the table records (a pending row with
   * attempts) went with a later event of its key, one line each. A retry after a failure is meant
   * to go alone (see {@code KeyHolds}).
   */
  final List<String> retriesNotAlone = new ArrayList<>();

  private void noteRetriesNotAlone(List<PendingEvent> batch) {
    for (int i = 0; i < batch.size(); i++) {
      Row row = rows.get(batch.get(i).seq());
      if (row == null || !row.status.equals("PENDING") || row.attempts == 0) {
        continue;
      }
      for (int j = i + 1; j < batch.size(); j++) {
        if (batch.get(j).key().equals(row.key)) {
          retriesNotAlone.add(
              "retry of "
                  + row
                  + " sent with "
                  + rowOf(batch.get(j))
                  + " in one batch (send "
                  + sends
                  + ": "
                  + batch.stream().map(DeliveryModel.this::rowOf).toList()
                  + ")");
          break;
        }
      }
    }
  }

  /**
   * Events sent before the retry time their row had when the batch was read, one line each. The
   * time is the one the relay could know: {@code next_attempt_at} of the {@link PendingEvent} the
   * read returned (a failure recorded after the read is not counted; a retry time moved earlier
   * since, as by {@link #hastenRetries}, is not either), compared with the relay's own clock at the
   * send. A correct relay sends a failed event only once its hold is due, and its hold is never due
   * before the retry time it read for the event: an event sent earlier skipped (part of) a backoff
   * the table records for it, recorded by this relay or by another owner's late batch.
   */
  final List<String> sentBeforeRetryTime = new ArrayList<>();

  private void noteSentBeforeRetryTime(List<PendingEvent> batch) {
    Instant now = clock.peek();
    for (PendingEvent e : batch) {
      Instant due = e.nextAttemptAt();
      if (due != null && now.isBefore(due)) {
        sentBeforeRetryTime.add(
            rowOf(e)
                + " sent "
                + Duration.between(now, due).toMillis()
                + " ms before the retry time read with it (read with attempts "
                + e.attempts()
                + "; send "
                + sends
                + ": "
                + batch.stream().map(DeliveryModel.this::rowOf).toList()
                + ")");
      }
    }
  }

  /** Every instance's leases lost and claimed back: holds dropped and loaded from the rows. */
  private void reclaimLeases() {
    for (Instance instance : instances) {
      for (int p : instance.owned) {
        instance.holds.drop(p);
        instance.holds.load(p, retrying(p));
      }
    }
  }

  /** A clock the model moves by hand. */
  static final class SimClock extends Clock {
    private Instant now = Instant.parse("2026-12-01T00:00:00Z");

    /** Run once, at the next read of the time (another thread's work landing just then). */
    @org.jspecify.annotations.Nullable Runnable atNextRead;

    void advance(Duration d) {
      now = now.plus(d);
    }

    /** This clock read with {@link #peek}. */
    Clock peeking() {
      SimClock sim = this;
      return new Clock() {
        @Override
        public Instant instant() {
          return sim.peek();
        }

        @Override
        public java.time.ZoneId getZone() {
          return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
          return this;
        }
      };
    }

    /** The time, without running {@link #atNextRead}: what the model itself looks at. */
    Instant peek() {
      return now;
    }

    @Override
    public Instant instant() {
      Runnable hook = atNextRead;
      if (hook != null) {
        atNextRead = null;
        hook.run();
      }
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
