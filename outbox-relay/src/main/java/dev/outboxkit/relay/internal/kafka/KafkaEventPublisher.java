package dev.outboxkit.relay.internal.kafka;

import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.delivery.ManagedBatchSender;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.relay.internal.delivery.PublishResult.FailureKind;
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
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
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
 * <p>This class is the facade: it routes, hands records over and holds keys back. Its delegates
 * build the producer configuration ({@link ProducerSettings}), own the shared producer ({@link
 * SharedProducer}), refuse records the producer would refuse ({@link RecordChecks}, {@link
 * TopicCheck}), map the producer's answers ({@link SendResults}) and copy parked events to the
 * dead-letter topic ({@link DeadLetters}, on a thread and producer of its own, never awaited by the
 * publishing thread; {@link #start} refuses a dead-letter topic that does not exist). Created only
 * through {@link KafkaPublishers}.
 *
 * <p>Not thread-safe: used by the relay's publishing thread only. The producer and admin client are
 * created on first use, and again after an error that leaves the producer unusable.
 */
final class KafkaEventPublisher implements ManagedBatchSender {

  private static final Logger log = LoggerFactory.getLogger(KafkaEventPublisher.class);

  private final TopicRouter router;
  private final Clock clock;
  private final long deliveryTimeoutMillis;
  private final SharedProducer producer;
  private final @Nullable TopicCheck topics;
  // Set by close(), from the thread stopping the relay: no batch is handed over after it.
  private volatile boolean closed;
  private final RecordChecks checks;
  private final DeadLetters deadLetters;
  private final Map<String, Object> adminConfig;
  private final @Nullable String deadLetterTopic;
  private final @Nullable TransactionalProducers transactions;

  /**
   * @param userProperties producer properties from the relay's configuration
   * @param clientId the producer's client id (transactional producers add {@code -p<partition>})
   * @param sendTimeout the producer's delivery timeout
   * @param router where each event goes
   * @param verifyTopics whether to check that a topic exists before sending to it
   * @param clock for acknowledgement times
   * @param transactionalIdPrefix the prefix of the transactional ids (one per outbox partition), or
   *     {@code null} for plain idempotent sends
   * @param deadLetterTopic where parked events are copied (checked at {@link #start}), or {@code
   *     null}
   */
  KafkaEventPublisher(
      Map<String, Object> userProperties,
      String clientId,
      Duration sendTimeout,
      TopicRouter router,
      boolean verifyTopics,
      Clock clock,
      @Nullable String transactionalIdPrefix,
      @Nullable String deadLetterTopic) {
    this(
        userProperties,
        clientId,
        sendTimeout,
        router,
        verifyTopics,
        clock,
        transactionalIdPrefix,
        deadLetterTopic,
        KafkaProducer::new);
  }

  /**
   * As above, with the producers made by {@code factory} (Kafka's {@code MockProducer} in unit
   * tests) instead of {@code KafkaProducer::new}.
   */
  KafkaEventPublisher(
      Map<String, Object> userProperties,
      String clientId,
      Duration sendTimeout,
      TopicRouter router,
      boolean verifyTopics,
      Clock clock,
      @Nullable String transactionalIdPrefix,
      @Nullable String deadLetterTopic,
      Function<Map<String, Object>, Producer<byte[], byte[]>> factory) {
    ProducerSettings settings = new ProducerSettings(userProperties, clientId, sendTimeout);
    this.router = router;
    this.clock = clock;
    this.deliveryTimeoutMillis = settings.deliveryTimeoutMillis();
    this.producer = new SharedProducer(settings.config(), factory);
    this.topics =
        verifyTopics ? new TopicCheck(settings.adminConfig(), Duration.ofSeconds(5)) : null;
    this.checks = new RecordChecks(settings.maxRequestSize(), topics);
    this.adminConfig = settings.adminConfig();
    this.deadLetterTopic = deadLetterTopic;
    Map<String, Object> copies = new HashMap<>(settings.config());
    copies.put(ProducerConfig.CLIENT_ID_CONFIG, clientId + "-dlt");
    this.deadLetters =
        new DeadLetters(router, new SharedProducer(copies, factory), clientId + "-dead-letters");
    this.transactions =
        transactionalIdPrefix == null
            ? null
            : new TransactionalProducers(settings.config(), transactionalIdPrefix, clock, factory);
  }

  /** A batch handed to the producer, whose acknowledgements are still to come. */
  final class Sending implements InFlight {
    private final List<PendingEvent> batch;
    private final List<CompletableFuture<PublishResult>> results;
    private final AtomicBoolean reset;
    private final Map<Integer, Producer<byte[], byte[]>> open;
    // The events whose send failed, in the order the failures arrived (see awaitCommits).
    private final List<PendingEvent> failedInOrder;

    private Sending(
        List<PendingEvent> batch,
        List<CompletableFuture<PublishResult>> results,
        AtomicBoolean reset,
        Map<Integer, Producer<byte[], byte[]>> open,
        List<PendingEvent> failedInOrder) {
      this.batch = batch;
      this.results = results;
      this.reset = reset;
      this.open = open;
      this.failedInOrder = failedInOrder;
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
   * can read the next batch meanwhile. Complete it with {@link InFlight#await}.
   */
  @Override
  public InFlight send(List<PendingEvent> batch) {
    return send(batch, () -> true);
  }

  /**
   * As {@link #send(List)}, asking {@code mayHandOver} before each event; once it says no (the
   * relay's leases are no longer trusted), the rest of the batch is deferred.
   */
  @Override
  public InFlight send(List<PendingEvent> batch, BooleanSupplier mayHandOver) {
    if (closed) {
      // A batch handler that outlived the relay's stop must not send (nor count an attempt).
      throw new IllegalStateException("The Kafka publisher was closed: the relay stops");
    }
    List<CompletableFuture<PublishResult>> results = new ArrayList<>(batch.size());
    Map<Integer, Producer<byte[], byte[]>> open = new LinkedHashMap<>();
    Set<String> held = new HashSet<>();
    AtomicBoolean reset = new AtomicBoolean();
    List<PendingEvent> failedInOrder = java.util.Collections.synchronizedList(new ArrayList<>());
    boolean brokerUnreachable = false;
    boolean windowOpen = true;
    for (PendingEvent pending : batch) {
      windowOpen = windowOpen && mayHandOver.getAsBoolean();
      if (!windowOpen || brokerUnreachable || held.contains(pending.key())) {
        results.add(CompletableFuture.completedFuture(new PublishResult.Deferred(pending)));
        continue;
      }
      PublishResult.Failed refused;
      ProducerRecord<byte[], byte[]> record = null;
      try {
        record = KafkaRecords.toRecord(pending.event(), router.topic(pending.event()));
        refused = checks.refuse(pending, record);
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
              if (error != null) {
                failedInOrder.add(pending);
                if (KafkaErrors.needsNewProducer(error)) {
                  reset.set(true);
                }
              }
              result.complete(SendResults.ofCallback(pending, error, clock));
            });
        // A record the producer refuses at once (no metadata within max.block.ms, too large)
        // fails through its callback before send() returns: later events of its key must not
        // overtake it, and without metadata the broker is out of reach for the rest of the batch.
        if (result.getNow(null) instanceof PublishResult.Failed f) {
          held.add(pending.key());
          brokerUnreachable = f.kind() == FailureKind.BROKER || f.kind() == FailureKind.ACCESS;
        }
      } catch (KafkaException | IllegalStateException e) {
        // A plain idempotent producer has no abortable errors: in its error state it stays
        // unusable until it is replaced.
        reset.compareAndSet(
            false,
            KafkaErrors.needsNewProducer(e)
                || (transactions == null && KafkaErrors.inErrorState(e)));
        held.add(pending.key());
        failedInOrder.add(pending);
        result.complete(SendResults.failed(pending, e));
        // send() blocks up to max.block.ms when it has no metadata: once that happened, the
        // broker is out of reach for the rest of the batch too, so do not wait once per event.
        FailureKind kind = KafkaErrors.kind(e);
        brokerUnreachable = kind == FailureKind.BROKER || kind == FailureKind.ACCESS;
      }
      results.add(result);
    }
    return new Sending(batch, results, reset, open, failedInOrder);
  }

  /**
   * The producer for an event of {@code partition}: the shared one, or with transactional fencing
   * the partition's own, its transaction begun for this batch.
   */
  private Producer<byte[], byte[]> producerFor(
      int partition, Map<Integer, Producer<byte[], byte[]>> open) {
    return transactions == null ? producer.get() : transactions.begin(partition, open);
  }

  /** Waits for every acknowledgement of a batch; one result per event, in the batch's order. */
  private List<PublishResult> await(Sending sending) {
    List<CompletableFuture<PublishResult>> results = sending.results;
    List<PendingEvent> batch = sending.batch;
    AtomicBoolean reset = sending.reset;
    if (transactions != null) {
      return transactions.awaitCommits(
          batch,
          results,
          reset,
          sending.open,
          deliveryTimeoutMillis,
          List.copyOf(sending.failedInOrder));
    }
    try {
      producer.get().flush();
    } catch (KafkaException | IllegalStateException e) {
      reset.set(true);
      log.warn("Kafka producer flush failed: {}", KafkaErrors.describe(e));
    }
    List<PublishResult> done = new ArrayList<>(results.size());
    for (int i = 0; i < results.size(); i++) {
      done.add(SendResults.awaitOne(results.get(i), batch.get(i), deliveryTimeoutMillis));
    }
    if (reset.get()) {
      producer.reset();
    }
    return done;
  }

  /**
   * Sends a copy of a parked event to the dead-letter topic and waits for it, up to the delivery
   * timeout.
   *
   * @return whether the broker acknowledged it
   */
  @Override
  public boolean sendDeadLetter(PendingEvent pending, String topic, String error) {
    try {
      deadLetters.copy(pending, topic, error).get(deliveryTimeoutMillis, TimeUnit.MILLISECONDS);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException | TimeoutException e) {
      return false;
    }
  }

  /**
   * Hands a copy of a parked event to the dead-letter copying thread (see {@link DeadLetters}) and
   * returns at once.
   */
  @Override
  public CompletionStage<Void> copyToDeadLetter(PendingEvent pending, String topic, String error) {
    return deadLetters.copy(pending, topic, error);
  }

  /**
   * Creates the producer now, so that settings Kafka refuses (a bad SASL/JAAS configuration, an
   * unknown serializer, a malformed bootstrap address) stop the relay at start-up with Kafka's
   * message instead of failing at the first send.
   *
   * @throws IllegalStateException naming the cause
   */
  @Override
  public void start() {
    producer.start();
    if (deadLetterTopic != null) {
      checkDeadLetterTopic(deadLetterTopic);
    }
  }

  /**
   * A missing dead-letter topic would make each copy wait {@code max.block.ms} and fail: refuse to
   * start instead, naming the setting. A broker out of reach says nothing about the topic, so the
   * relay starts (events wait for the broker anyway).
   */
  private void checkDeadLetterTopic(String topic) {
    TopicCheck check = topics != null ? topics : new TopicCheck(adminConfig, Duration.ofSeconds(5));
    TopicCheck.Answer answer;
    try {
      answer = check.check(topic);
    } catch (KafkaException e) {
      answer = TopicCheck.Answer.UNKNOWN;
    } finally {
      if (check != topics) {
        check.close();
      }
    }
    if (answer == TopicCheck.Answer.MISSING) {
      throw new IllegalStateException(
          "The dead-letter topic '"
              + topic
              + "' does not exist: create it, or change or unset outbox.relay.topics.dead-letter"
              + " (RelayConfig.Builder.deadLetterTopic)");
    }
    if (answer == TopicCheck.Answer.UNKNOWN) {
      log.warn(
          "Could not check that the dead-letter topic {} exists (no answer from the broker);"
              + " starting anyway",
          topic);
    }
  }

  /**
   * Closes the producers, waiting up to {@code timeout} each for records still buffered, then the
   * admin client.
   */
  @Override
  public void close(Duration timeout) {
    closed = true;
    if (transactions != null) {
      transactions.close(timeout);
    }
    producer.close(timeout);
    deadLetters.close(timeout);
    if (topics != null) {
      topics.close();
    }
  }
}
