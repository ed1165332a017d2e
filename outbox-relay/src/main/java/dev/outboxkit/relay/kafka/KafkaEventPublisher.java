package dev.outboxkit.relay.kafka;

import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.relay.delivery.BatchSender;
import dev.outboxkit.relay.delivery.PublishResult;
import dev.outboxkit.relay.delivery.PublishResult.FailureKind;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.spi.TopicRouter;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.TransactionAbortedException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a batch of events with one idempotent producer and waits for every acknowledgement.
 *
 * <p>All records of a batch are handed to the producer at once and {@code flush()}ed, so the batch
 * costs about one round trip per broker, not one per event. Per-key order within a batch comes from
 * the idempotent producer (ordered retries, up to 5 requests in flight per connection). When an
 * event cannot even be handed over (missing topic, oversized record), later events of its key in
 * the same batch are held back ({@link PublishResult.Deferred}) so they cannot overtake it.
 *
 * <p><b>Transactional fencing</b> (opt-in, {@code transactionalIdPrefix}, done by {@link
 * TransactionalProducers}): each outbox partition gets a producer of its own with the transactional
 * id {@code <prefix>-<partition>}, and each batch's events of a partition are sent in one Kafka
 * transaction. The first send for a partition after this instance took it over calls {@code
 * initTransactions()}, which aborts whatever the previous owner still had open and fences it off:
 * records of a deposed owner that reach the broker late are refused or stay aborted, so {@code
 * read_committed} consumers never see them. A commit that fails fails the partition's events of the
 * batch (retried without counting an attempt unless an event failed on its own).
 *
 * <p>Not thread-safe: used by the relay's publishing thread only. The producer and admin client are
 * created on first use, and again after an error that leaves the producer unusable.
 *
 * <p>Public only because the polling and CDC relays, in packages of their own, create it; not API
 * (see the package documentation). Only the constructor, {@link #start}, the {@link BatchSender}
 * methods and {@link #close(Duration)} are public.
 */
public final class KafkaEventPublisher implements BatchSender, AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(KafkaEventPublisher.class);

  private final Map<String, Object> producerConfig;
  private final TopicRouter router;
  private final boolean verifyTopics;
  private final Clock clock;
  private final long maxRequestSize;
  private final @Nullable TransactionalProducers transactions;
  private @Nullable Producer<byte[], byte[]> producer;
  private @Nullable Admin admin;
  private @Nullable TopicCheck topics;

  /**
   * @param userProperties producer properties from the relay's configuration
   * @param clientId the producer's client id (transactional producers add {@code -p<partition>})
   * @param sendTimeout the producer's delivery timeout
   * @param router where each event goes
   * @param verifyTopics whether to check that a topic exists before sending to it
   * @param clock for acknowledgement times
   * @param transactionalIdPrefix the prefix of the transactional ids (one per outbox partition), or
   *     {@code null} for plain idempotent sends
   */
  public KafkaEventPublisher(
      Map<String, Object> userProperties,
      String clientId,
      Duration sendTimeout,
      TopicRouter router,
      boolean verifyTopics,
      Clock clock,
      @Nullable String transactionalIdPrefix) {
    this.producerConfig = producerConfig(userProperties, clientId, sendTimeout);
    this.transactions =
        transactionalIdPrefix == null
            ? null
            : new TransactionalProducers(producerConfig, transactionalIdPrefix, clock);
    this.router = router;
    this.verifyTopics = verifyTopics;
    this.clock = clock;
    this.maxRequestSize =
        Long.parseLong(
            String.valueOf(
                producerConfig.getOrDefault(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 1048576)));
  }

  static Map<String, Object> producerConfig(
      Map<String, Object> user, String clientId, Duration sendTimeout) {
    Map<String, Object> config = new HashMap<>();
    long delivery = sendTimeout.toMillis();
    config.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    config.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    config.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Math.min(delivery, 10_000L));
    config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(delivery - 5, 10_000L));
    config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) delivery);
    config.putAll(user);
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return Map.copyOf(config);
  }

  /** A batch handed to the producer, whose acknowledgements are still to come. */
  final class Sending implements InFlight {
    private final List<PendingEvent> batch;
    private final List<CompletableFuture<PublishResult>> results;
    private final AtomicBoolean reset;
    private final Map<Integer, Producer<byte[], byte[]>> open;

    private Sending(
        List<PendingEvent> batch,
        List<CompletableFuture<PublishResult>> results,
        AtomicBoolean reset,
        Map<Integer, Producer<byte[], byte[]>> open) {
      this.batch = batch;
      this.results = results;
      this.reset = reset;
      this.open = open;
    }

    @Override
    public List<PendingEvent> batch() {
      return batch;
    }

    @Override
    public List<PublishResult> await() {
      return KafkaEventPublisher.this.await(this);
    }
  }

  /**
   * Routes a batch and hands it to the producer without waiting for acknowledgements, so the caller
   * can read the next batch meanwhile. Complete it with {@link #await}.
   */
  @Override
  public InFlight send(List<PendingEvent> batch) {
    List<CompletableFuture<PublishResult>> results = new ArrayList<>(batch.size());
    Map<Integer, Producer<byte[], byte[]>> open = new LinkedHashMap<>();
    Set<String> held = new HashSet<>();
    AtomicBoolean reset = new AtomicBoolean();
    boolean brokerUnreachable = false;
    for (PendingEvent pending : batch) {
      if (brokerUnreachable || held.contains(pending.key())) {
        results.add(CompletableFuture.completedFuture(new PublishResult.Deferred(pending)));
        continue;
      }
      PublishResult.Failed refused;
      ProducerRecord<byte[], byte[]> record = null;
      try {
        record = KafkaRecords.toRecord(pending.event(), router.topic(pending.event()));
        refused = refuse(pending, record);
      } catch (RuntimeException e) {
        refused =
            new PublishResult.Failed(pending, "The topic router failed: " + e, FailureKind.EVENT);
      }
      if (refused != null || record == null) {
        held.add(pending.key());
        results.add(CompletableFuture.completedFuture(refused));
        continue;
      }
      CompletableFuture<PublishResult> result = new CompletableFuture<>();
      try {
        Producer<byte[], byte[]> producer = producerFor(pending.partition(), open);
        producer.send(
            record,
            (metadata, error) -> {
              if (error != null && KafkaErrors.needsNewProducer(error)) {
                reset.set(true);
              }
              result.complete(
                  error == null
                      ? new PublishResult.Acked(pending, clock.instant())
                      : error instanceof TransactionAbortedException
                          // aborted because another record of its transaction failed
                          ? new PublishResult.Deferred(pending)
                          : failed(pending, error));
            });
        // A record the producer refuses at once (no metadata within max.block.ms, too large)
        // fails through its callback before send() returns: later events of its key must not
        // overtake it, and without metadata the broker is out of reach for the rest of the batch.
        if (result.getNow(null) instanceof PublishResult.Failed f) {
          held.add(pending.key());
          brokerUnreachable = f.kind() == FailureKind.BROKER || f.kind() == FailureKind.ACCESS;
        }
      } catch (KafkaException | IllegalStateException e) {
        reset.compareAndSet(false, KafkaErrors.needsNewProducer(e));
        held.add(pending.key());
        result.complete(failed(pending, e));
        // send() blocks up to max.block.ms when it has no metadata: once that happened, the
        // broker is out of reach for the rest of the batch too, so do not wait once per event.
        FailureKind kind = KafkaErrors.kind(e);
        brokerUnreachable = kind == FailureKind.BROKER || kind == FailureKind.ACCESS;
      }
      results.add(result);
    }
    return new Sending(batch, results, reset, open);
  }

  /**
   * The producer for an event of {@code partition}: the shared one, or with transactional fencing
   * the partition's own, its transaction begun for this batch.
   */
  private Producer<byte[], byte[]> producerFor(
      int partition, Map<Integer, Producer<byte[], byte[]>> open) {
    return transactions == null ? producer() : transactions.begin(partition, open);
  }

  /** Waits for every acknowledgement of a batch; one result per event, in the batch's order. */
  List<PublishResult> await(Sending sending) {
    List<CompletableFuture<PublishResult>> results = sending.results;
    List<PendingEvent> batch = sending.batch;
    AtomicBoolean reset = sending.reset;
    if (transactions != null) {
      return transactions.awaitCommits(
          batch, results, reset, sending.open, producerDeliveryTimeout());
    }
    try {
      producer().flush();
    } catch (KafkaException | IllegalStateException e) {
      reset.set(true);
      log.warn("Kafka producer flush failed: {}", KafkaErrors.describe(e));
    }
    List<PublishResult> done = new ArrayList<>(results.size());
    for (int i = 0; i < results.size(); i++) {
      done.add(awaitOne(results.get(i), batch.get(i), producerDeliveryTimeout()));
    }
    if (reset.get()) {
      resetProducer();
    }
    return done;
  }

  /**
   * One send's result. After {@code flush()} (or the transaction's commit) every result is
   * complete, unless that was cut short; none in time counts as a retriable broker failure.
   */
  static PublishResult awaitOne(
      CompletableFuture<PublishResult> result, PendingEvent pending, long timeoutMillis) {
    try {
      return result.get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // fall through: counted as a retriable failure
    }
    return new PublishResult.Failed(
        pending, "No acknowledgement from the broker in time", FailureKind.BROKER);
  }

  private PublishResult.@Nullable Failed refuse(
      PendingEvent pending, ProducerRecord<byte[], byte[]> record) {
    long size = KafkaRecords.estimatedSize(record);
    if (size > maxRequestSize) {
      return new PublishResult.Failed(
          pending,
          "RecordTooLargeException: the record is about "
              + size
              + " bytes, more than the producer's max.request.size of "
              + maxRequestSize,
          FailureKind.PERMANENT);
    }
    if (verifyTopics && topicMissing(record.topic())) {
      return new PublishResult.Failed(
          pending,
          "UnknownTopicOrPartitionException: topic '"
              + record.topic()
              + "' does not exist; create it or route the event elsewhere",
          FailureKind.EVENT);
    }
    return null;
  }

  /**
   * Whether the topic is known to be missing; an admin client that cannot even be created (broker
   * address not resolvable) says nothing about the event, so the send goes ahead and the producer
   * reports what is wrong.
   */
  private boolean topicMissing(String topic) {
    try {
      return topics().check(topic) == TopicCheck.Answer.MISSING;
    } catch (KafkaException e) {
      log.debug("Could not check topic {}: {}", topic, KafkaErrors.describe(e));
      return false;
    }
  }

  private static PublishResult.Failed failed(PendingEvent pending, Throwable error) {
    String text = KafkaErrors.describe(error);
    return new PublishResult.Failed(pending, text, KafkaErrors.kind(error));
  }

  /**
   * Sends a copy of a parked event to the dead-letter topic and waits for it.
   *
   * @return whether the broker acknowledged it
   */
  @Override
  public boolean sendDeadLetter(PendingEvent pending, String topic, String error) {
    String original;
    try {
      original = router.topic(pending.event());
    } catch (RuntimeException e) {
      original = "";
    }
    ProducerRecord<byte[], byte[]> record = KafkaRecords.toRecord(pending.event(), topic);
    record.headers().add(OutboxHeaders.ERROR, KafkaRecords.utf8(error));
    record.headers().add(OutboxHeaders.ORIGINAL_TOPIC, KafkaRecords.utf8(original));
    try {
      producer().send(record).get(producerDeliveryTimeout(), TimeUnit.MILLISECONDS);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (Exception e) {
      log.warn(
          "Could not copy parked event {} to dead-letter topic {}: {}",
          pending.event().id(),
          topic,
          KafkaErrors.describe(e));
      return false;
    }
  }

  private long producerDeliveryTimeout() {
    return Long.parseLong(
        String.valueOf(producerConfig.get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG)));
  }

  /**
   * Creates the producer now, so that settings Kafka refuses (a bad SASL/JAAS configuration, an
   * unknown serializer, a malformed bootstrap address) stop the relay at start-up with Kafka's
   * message instead of failing at the first send.
   *
   * @throws IllegalStateException naming the cause
   */
  public void start() {
    try {
      producer();
    } catch (KafkaException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new IllegalStateException(
          "The Kafka producer could not be created from the relay's producer properties"
              + " (outbox.relay.kafka.*): "
              + KafkaErrors.describe(cause),
          e);
    }
  }

  private Producer<byte[], byte[]> producer() {
    if (producer == null) {
      producer = new KafkaProducer<>(producerConfig);
    }
    return producer;
  }

  private TopicCheck topics() {
    if (topics == null) {
      Map<String, Object> config = new HashMap<>();
      for (Map.Entry<String, Object> e : producerConfig.entrySet()) {
        if (AdminClientConfig.configNames().contains(e.getKey())
            || e.getKey().startsWith("ssl.")
            || e.getKey().startsWith("sasl.")
            || e.getKey().equals(SaslConfigs.SASL_JAAS_CONFIG)) {
          config.put(e.getKey(), e.getValue());
        }
      }
      config.put(
          AdminClientConfig.CLIENT_ID_CONFIG,
          producerConfig.get(ProducerConfig.CLIENT_ID_CONFIG) + "-admin");
      admin = Admin.create(config);
      topics = new TopicCheck(admin, Duration.ofSeconds(5));
    }
    return topics;
  }

  private void resetProducer() {
    Producer<byte[], byte[]> old = producer;
    producer = null;
    if (old != null) {
      log.warn("Replacing the Kafka producer after an error that leaves it unusable");
      try {
        old.close(Duration.ZERO);
      } catch (RuntimeException e) {
        log.debug("Closing the old producer failed", e);
      }
    }
  }

  /** Closes the producer, waiting up to {@code timeout} for records still buffered. */
  public void close(Duration timeout) {
    if (transactions != null) {
      transactions.close(timeout);
    }
    if (producer != null) {
      producer.close(timeout);
      producer = null;
    }
    if (admin != null) {
      admin.close(Duration.ofSeconds(1));
      admin = null;
      topics = null;
    }
  }

  @Override
  public void close() {
    close(Duration.ofSeconds(5));
  }
}
