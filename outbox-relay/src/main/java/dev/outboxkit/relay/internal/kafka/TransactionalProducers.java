package dev.outboxkit.relay.internal.kafka;

import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.internal.delivery.PublishResult.FailureKind;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Transactional fencing for {@link KafkaEventPublisher}: one producer per outbox partition, with
 * the transactional id {@code <prefix>-<partition>}, and one Kafka transaction per partition and
 * batch. The first send for a partition after this instance took it over calls {@code
 * initTransactions()}, which aborts whatever the previous owner still had open and fences it off. A
 * batch's commits run side by side; a commit that fails fails the partition's events of the batch
 * (or defers them when one of them failed on its own), and a producer left unusable is dropped and
 * created again on the next send.
 *
 * <p>Not thread-safe, like the publisher: used by the relay's publishing thread only (the commits
 * run on a cached pool of named daemon threads, joined before {@link #awaitCommits} returns).
 */
final class TransactionalProducers {

  private static final Logger log = LoggerFactory.getLogger(TransactionalProducers.class);

  private final Map<String, Object> producerConfig;
  private final String prefix;
  private final Clock clock;
  private final Function<Map<String, Object>, Producer<byte[], byte[]>> factory;
  private final Map<Integer, Producer<byte[], byte[]>> producers = new HashMap<>();
  private @Nullable ExecutorService committer;

  /** Producers made by {@code KafkaProducer::new}; see the full constructor. */
  TransactionalProducers(Map<String, Object> producerConfig, String prefix, Clock clock) {
    this(producerConfig, prefix, clock, KafkaProducer::new);
  }

  /**
   * @param producerConfig the publisher's producer configuration, without a transactional id
   * @param prefix the prefix of the transactional ids
   * @param clock for commit times (an event counts as delivered when its transaction committed)
   * @param factory creates a producer from a configuration ({@code KafkaProducer::new}; tests pass
   *     Kafka's {@code MockProducer})
   */
  TransactionalProducers(
      Map<String, Object> producerConfig,
      String prefix,
      Clock clock,
      Function<Map<String, Object>, Producer<byte[], byte[]>> factory) {
    this.producerConfig = producerConfig;
    this.prefix = prefix;
    this.clock = clock;
    this.factory = factory;
  }

  /** The transactional id of an outbox partition's producer. */
  String transactionalId(int partition) {
    return prefix + "-" + partition;
  }

  /**
   * The producer for an event of {@code partition}, its transaction begun for this batch: taken
   * from {@code open} when this batch already began one, else created (and fenced in) if needed.
   */
  Producer<byte[], byte[]> begin(int partition, Map<Integer, Producer<byte[], byte[]>> open) {
    Producer<byte[], byte[]> begun = open.get(partition);
    if (begun != null) {
      return begun;
    }
    Producer<byte[], byte[]> p = producers.get(partition);
    if (p == null) {
      Map<String, Object> config = new HashMap<>(producerConfig);
      config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId(partition));
      // A transaction begun right after the previous commit waits for the coordinator to finish
      // that one (CONCURRENT_TRANSACTIONS, retried after retry.backoff.ms, 100 ms by default):
      // retry sooner unless the user chose otherwise.
      config.putIfAbsent(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, 5);
      config.put(
          ProducerConfig.CLIENT_ID_CONFIG,
          producerConfig.get(ProducerConfig.CLIENT_ID_CONFIG) + "-p" + partition);
      p = factory.apply(config);
      try {
        // Aborts the previous owner's open transaction and fences its producer off.
        p.initTransactions();
      } catch (RuntimeException e) {
        p.close(Duration.ZERO);
        throw e;
      }
      producers.put(partition, p);
    }
    try {
      p.beginTransaction();
    } catch (RuntimeException e) {
      drop(partition);
      throw e;
    }
    open.put(partition, p);
    return p;
  }

  /**
   * An event is acknowledged only when its partition's transaction committed. When the commit
   * fails, the partition's events that did not fail on their own are deferred if one of them did
   * (the transaction was aborted for its sake), and failed with the commit's error otherwise.
   *
   * @param batch the events in the order they were handed over
   * @param results their send results, in the same order
   * @param reset whether a send left its producer unusable (the batch's producers are dropped)
   * @param open the producers whose transaction this batch began, by partition
   * @param timeoutMillis how long to wait for a send result
   */
  List<PublishResult> awaitCommits(
      List<PendingEvent> batch,
      List<CompletableFuture<PublishResult>> results,
      AtomicBoolean reset,
      Map<Integer, Producer<byte[], byte[]>> open,
      long timeoutMillis) {
    return awaitCommits(batch, results, reset, open, timeoutMillis, List.of());
  }

  /**
   * As above, with {@code failedInOrder}: the events whose send failed, in the order the failures
   * arrived. The first of a partition is the one that failed on its own (see {@link
   * #deferCopiedFailures}); events not in it come after, in batch order.
   */
  List<PublishResult> awaitCommits(
      List<PendingEvent> batch,
      List<CompletableFuture<PublishResult>> results,
      AtomicBoolean reset,
      Map<Integer, Producer<byte[], byte[]>> open,
      long timeoutMillis,
      List<PendingEvent> failedInOrder) {
    Map<Integer, PendingEvent> firstOfPartition = new HashMap<>();
    for (PendingEvent pending : batch) {
      firstOfPartition.putIfAbsent(pending.partition(), pending);
    }
    Map<Integer, Instant> committedAt = new HashMap<>();
    Map<Integer, PublishResult.Failed> aborted = commit(open, firstOfPartition, committedAt);
    List<PublishResult> done = new ArrayList<>(results.size());
    Set<Integer> failedOnTheirOwn = new HashSet<>();
    for (int i = 0; i < results.size(); i++) {
      PublishResult r = SendResults.awaitOne(results.get(i), batch.get(i), timeoutMillis);
      if (r instanceof PublishResult.Failed) {
        failedOnTheirOwn.add(r.event().partition());
      }
      done.add(r);
    }
    deferCopiedFailures(done, aborted.keySet(), failedInOrder);
    for (int i = 0; i < done.size(); i++) {
      PublishResult r = done.get(i);
      PublishResult.Failed commitFailure = aborted.get(r.event().partition());
      Instant committed = committedAt.get(r.event().partition());
      if (committed != null && r instanceof PublishResult.Acked) {
        // Delivered (visible to read_committed consumers) when its transaction committed.
        done.set(i, new PublishResult.Acked(r.event(), committed));
      } else if (commitFailure != null && r instanceof PublishResult.Acked) {
        done.set(
            i,
            failedOnTheirOwn.contains(r.event().partition())
                ? new PublishResult.Deferred(r.event())
                : new PublishResult.Failed(r.event(), commitFailure.error(), commitFailure.kind()));
      }
    }
    if (reset.get()) {
      for (Integer partition : open.keySet()) {
        drop(partition);
      }
    }
    return done;
  }

  /**
   * Once one record fails, kafka-clients puts the transaction in its abortable error state and
   * fails the records still waiting in its buffer with that same error ({@code Sender} aborts the
   * undrained batches with the transaction manager's {@code lastError}). Those events did nothing
   * wrong: in a partition whose transaction was aborted, a failure that repeats the first one's
   * error word for word is deferred (sent again, no attempt counted) instead of counted. An event
   * that is bad itself fails again on its own, first of its partition, in a later batch.
   *
   * <p>"First" is the order in which the failures arrived, not batch order: an undrained record may
   * have been handed over before the refused one (to a topic whose leader was not ready yet), and
   * its copy of the error arrives after the original.
   */
  private static void deferCopiedFailures(
      List<PublishResult> done, Set<Integer> abortedPartitions, List<PendingEvent> failedInOrder) {
    Map<Long, Integer> arrival = new HashMap<>();
    for (PendingEvent failed : failedInOrder) {
      arrival.putIfAbsent(failed.seq(), arrival.size());
    }
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < done.size(); i++) {
      order.add(i);
    }
    order.sort(
        java.util.Comparator.comparingInt(
            (Integer i) -> arrival.getOrDefault(done.get(i).event().seq(), Integer.MAX_VALUE)));
    Map<Integer, String> firstError = new HashMap<>();
    for (int i : order) {
      if (!(done.get(i) instanceof PublishResult.Failed f)
          || !abortedPartitions.contains(f.event().partition())
          || (f.kind() != FailureKind.PERMANENT && f.kind() != FailureKind.EVENT)) {
        continue;
      }
      String first = firstError.putIfAbsent(f.event().partition(), f.error());
      if (first != null && first.equals(f.error())) {
        done.set(i, new PublishResult.Deferred(f.event()));
      }
    }
  }

  /**
   * Commits each partition's transaction of the batch; returns, per partition whose commit failed,
   * the failure its events get (unless they failed on their own).
   */
  private Map<Integer, PublishResult.Failed> commit(
      Map<Integer, Producer<byte[], byte[]>> open,
      Map<Integer, PendingEvent> firstOfPartition,
      Map<Integer, Instant> committedAt) {
    // The partitions' commits are independent round trips to the transaction coordinator: run
    // them side by side, so a batch over 16 partitions costs about one commit, not sixteen.
    Map<Integer, CompletableFuture<@Nullable Throwable>> commits = new LinkedHashMap<>();
    for (Map.Entry<Integer, Producer<byte[], byte[]>> e : open.entrySet()) {
      Producer<byte[], byte[]> p = e.getValue();
      commits.put(
          e.getKey(),
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  p.commitTransaction();
                  return null;
                } catch (KafkaException | IllegalStateException error) {
                  return error;
                }
              },
              committer()));
    }
    Map<Integer, PublishResult.Failed> failed = new HashMap<>();
    for (Map.Entry<Integer, CompletableFuture<@Nullable Throwable>> e : commits.entrySet()) {
      int partition = e.getKey();
      Throwable error = e.getValue().join();
      if (error == null) {
        committedAt.put(partition, clock.instant());
        continue;
      }
      PendingEvent first = firstOfPartition.get(partition);
      String text =
          error instanceof ProducerFencedException || error instanceof InvalidProducerEpochException
              ? "ProducerFencedException: another relay instance took over outbox partition "
                  + partition
                  + " (transactional id "
                  + transactionalId(partition)
                  + "); this batch's records of it were aborted"
              : "The Kafka transaction of outbox partition "
                  + partition
                  + " could not be committed: "
                  + KafkaErrors.describe(error);
      // A failed commit is never about one event: an event that failed on its own has its own
      // result (and the others are then deferred). Whatever the error (a timeout, fencing after
      // transaction.timeout.ms, an abortable state), the events are retried without counting an
      // attempt; an ACL refusal stays ACCESS, for its log line.
      FailureKind kind =
          KafkaErrors.kind(error) == FailureKind.ACCESS ? FailureKind.ACCESS : FailureKind.BROKER;
      log.warn(text);
      if (first != null) {
        failed.put(partition, new PublishResult.Failed(first, text, kind));
      }
      abort(partition, open.get(partition), error);
    }
    return failed;
  }

  private ExecutorService committer() {
    if (committer == null) {
      String name = producerConfig.get(ProducerConfig.CLIENT_ID_CONFIG) + "-commit";
      AtomicInteger threads = new AtomicInteger();
      committer =
          Executors.newCachedThreadPool(
              r -> {
                Thread t = new Thread(r, name + "-" + threads.incrementAndGet());
                t.setDaemon(true);
                return t;
              });
    }
    return committer;
  }

  private void abort(int partition, Producer<byte[], byte[]> p, Throwable cause) {
    if (KafkaErrors.needsNewProducer(cause)) {
      drop(partition);
      return;
    }
    try {
      p.abortTransaction();
    } catch (KafkaException | IllegalStateException e) {
      drop(partition);
    }
  }

  /** Closes a partition's producer at once; the next send for it creates and fences a new one. */
  private void drop(int partition) {
    Producer<byte[], byte[]> p = producers.remove(partition);
    if (p != null) {
      try {
        p.close(Duration.ZERO);
      } catch (RuntimeException e) {
        log.debug("Closing the producer of outbox partition {} failed", partition, e);
      }
    }
  }

  /** Closes every partition's producer, waiting up to {@code timeout} each for buffered records. */
  void close(Duration timeout) {
    if (committer != null) {
      committer.shutdown();
      committer = null;
    }
    for (Integer partition : List.copyOf(producers.keySet())) {
      Producer<byte[], byte[]> p = producers.remove(partition);
      try {
        p.close(timeout);
      } catch (RuntimeException e) {
        log.debug("Closing the producer of outbox partition {} failed", partition, e);
      }
    }
  }
}
