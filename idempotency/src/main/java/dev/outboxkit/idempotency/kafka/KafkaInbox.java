package dev.outboxkit.idempotency.kafka;

import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.idempotency.InvalidIdempotencyKeyException;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.PayloadIntegrityException;
import dev.outboxkit.outbox.spi.PayloadCodec;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.jspecify.annotations.Nullable;

/**
 * The {@link Inbox} for Kafka records: one listener, one consumer name, message ids taken from the
 * {@value OutboxHeaders#EVENT_ID} header that the OutboxKit relay sets (or from a function you
 * choose). Works for single-record and batch listeners; call it inside the listener's database
 * transaction.
 *
 * <pre>{@code
 * KafkaInbox inbox = KafkaInbox.of(inbox, "ledger");
 *
 * @KafkaListener(topics = "payment-events", batch = "true")
 * @Transactional
 * public void on(List<ConsumerRecord<String, byte[]>> records) {
 *   inbox.processAll(records, record -> ledger.book(parse(record.value())));
 * }
 * }</pre>
 */
public final class KafkaInbox {

  private static final DefaultOutboxInboxObservationConvention DEFAULT_CONVENTION =
      new DefaultOutboxInboxObservationConvention();

  private final Inbox inbox;
  private final String consumer;
  private final Function<ConsumerRecord<?, ?>, String> messageId;
  // NOOP unless observed(...): process() then skips the observation entirely.
  private final ObservationRegistry observations;
  private final @Nullable OutboxInboxObservationConvention convention;

  private KafkaInbox(
      Inbox inbox, String consumer, Function<ConsumerRecord<?, ?>, String> messageId) {
    this(inbox, consumer, messageId, ObservationRegistry.NOOP, null);
  }

  private KafkaInbox(
      Inbox inbox,
      String consumer,
      Function<ConsumerRecord<?, ?>, String> messageId,
      ObservationRegistry observations,
      @Nullable OutboxInboxObservationConvention convention) {
    this.inbox = Objects.requireNonNull(inbox, "inbox");
    this.consumer = Objects.requireNonNull(consumer, "consumer");
    this.messageId = Objects.requireNonNull(messageId, "messageId");
    this.observations = Objects.requireNonNull(observations, "observationRegistry");
    this.convention = convention;
  }

  /**
   * This inbox, with each processed record observed ({@value
   * DefaultOutboxInboxObservationConvention#NAME}): the observation continues the trace whose W3C
   * {@code traceparent} the record carries from its append, and is in scope while the handler runs,
   * so the handler's own spans (SQL, HTTP) join that trace too. Duplicates are observed as well
   * ({@code outbox.inbox.outcome=duplicate}).
   *
   * @param registry the registry, not null; {@link ObservationRegistry#NOOP} observes nothing
   * @return a new inbox; this one is unchanged
   * @since 0.1
   */
  public KafkaInbox observed(ObservationRegistry registry) {
    return new KafkaInbox(inbox, consumer, messageId, registry, convention);
  }

  /**
   * As {@link #observed(ObservationRegistry)}, with names and tags of your own.
   *
   * @param registry the registry, not null
   * @param convention the convention, not null
   * @return a new inbox; this one is unchanged
   * @since 0.1
   */
  public KafkaInbox observed(
      ObservationRegistry registry, OutboxInboxObservationConvention convention) {
    return new KafkaInbox(
        inbox,
        consumer,
        messageId,
        registry,
        Objects.requireNonNull(convention, "observationConvention"));
  }

  /**
   * Message ids from the {@value OutboxHeaders#EVENT_ID} header.
   *
   * @param inbox the inbox
   * @param consumer the name ids are unique for, e.g. the listener's id
   */
  public static KafkaInbox of(Inbox inbox, String consumer) {
    return new KafkaInbox(inbox, consumer, record -> header(record, OutboxHeaders.EVENT_ID));
  }

  /**
   * Message ids from your own function, e.g. a business key in the payload.
   *
   * @param inbox the inbox
   * @param consumer the name ids are unique for
   * @param messageId extracts the id; must return the same id for every delivery of a message
   */
  public static KafkaInbox of(
      Inbox inbox, String consumer, Function<ConsumerRecord<?, ?>, String> messageId) {
    return new KafkaInbox(inbox, consumer, messageId);
  }

  /**
   * Handles a record unless it was handled before.
   *
   * @param record the record
   * @param handler the handling, in the caller's transaction
   * @return {@code true} when the handler ran, {@code false} for a duplicate
   */
  public <K, V> boolean process(
      ConsumerRecord<K, V> record, Consumer<? super ConsumerRecord<K, V>> handler) {
    return observe(
        record,
        () -> inbox.process(consumer, messageId.apply(record), () -> handler.accept(record)));
  }

  /**
   * Handles a record of encrypted events unless it was handled before; the handler sees the
   * plaintext. The payload is checked <em>before</em> the id is claimed: a record that fails
   * (tampered, moved to another event, a key this consumer lacks) throws {@link
   * PayloadIntegrityException}, leaves no id in the inbox and runs no handler, so it is never
   * counted as processed. Let the listener container park it: with Spring Kafka, a {@code
   * DefaultErrorHandler} with a {@code DeadLetterPublishingRecoverer} and {@code
   * addNotRetryableExceptions(PayloadIntegrityException.class)} sends it to the dead-letter topic
   * at once (retrying cannot fix it) and the partition moves on.
   *
   * @param codec the writer's payload codec, not null
   * @param record the record as received (ciphertext)
   * @param handler the handling of the decoded record, in the caller's transaction
   *     <p>A tombstone (null value) is refused the same way: it carries no ciphertext, so nothing
   *     proves who wrote it, and claiming the id in its header would let anyone able to write to
   *     the topic have the genuine event with that id skipped as a duplicate. Read tombstones you
   *     expect with {@link #process} and a message id of your own.
   * @return {@code true} when the handler ran, {@code false} for a duplicate
   * @throws PayloadIntegrityException when the payload fails its check, or the record is a
   *     tombstone
   * @since 0.1
   */
  public <K> boolean processDecoded(
      PayloadCodec codec,
      ConsumerRecord<K, byte[]> record,
      Consumer<? super ConsumerRecord<K, byte[]>> handler) {
    if (record.value() == null) {
      throw forgeableTombstone(record);
    }
    return observe(
        record,
        () -> {
          ConsumerRecord<K, byte[]> decoded = OutboxRecords.decoded(codec, record);
          return inbox.process(consumer, messageId.apply(record), () -> handler.accept(decoded));
        });
  }

  /** Runs the processing of one record, as an observation when this inbox is observed. */
  private boolean observe(ConsumerRecord<?, ?> record, BooleanSupplier processing) {
    if (observations.isNoop()) {
      return processing.getAsBoolean();
    }
    OutboxInboxContext context = new OutboxInboxContext(record, consumer);
    return Observation.createNotStarted(convention, DEFAULT_CONVENTION, () -> context, observations)
        .observe(
            () -> {
              boolean handled = processing.getAsBoolean();
              context.handled(handled);
              return handled;
            });
  }

  /**
   * Handles each record of a batch unless it was handled before, in order, in the caller's one
   * transaction. A duplicate inside the batch itself is skipped too. When the handler throws for a
   * record, that record's writes and id are rolled back and the exception ends the batch; records
   * handled before it stay in the transaction (let the exception roll it back to redeliver the
   * whole batch, or commit to keep them: their redelivery is then skipped as duplicates).
   *
   * @param records the batch
   * @param handler the handling of one record
   * @return how many records were handled (not duplicates)
   */
  public <K, V> int processAll(
      Iterable<ConsumerRecord<K, V>> records, Consumer<? super ConsumerRecord<K, V>> handler) {
    int handled = 0;
    for (ConsumerRecord<K, V> record : records) {
      if (process(record, handler)) {
        handled++;
      }
    }
    return handled;
  }

  private static PayloadIntegrityException forgeableTombstone(ConsumerRecord<?, ?> record) {
    Header header = record.headers().lastHeader(OutboxHeaders.EVENT_ID);
    java.util.UUID id = null;
    try {
      id =
          header == null || header.value() == null
              ? null
              : java.util.UUID.fromString(new String(header.value(), StandardCharsets.UTF_8));
    } catch (IllegalArgumentException e) {
      // Not quoted: the header is caller-written text.
    }
    return new PayloadIntegrityException(
        id,
        "Record "
            + record.topic()
            + "-"
            + record.partition()
            + "@"
            + record.offset()
            + (id == null ? "" : " (event " + id + ")")
            + " is a tombstone (no value): with payload encryption nothing authenticates it, so"
            + " its id is not claimed and no handler runs; park it and investigate",
        null);
  }

  /**
   * A header's value as UTF-8 text.
   *
   * @throws InvalidIdempotencyKeyException when the record lacks the header
   */
  static String header(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    if (header == null || header.value() == null) {
      throw new InvalidIdempotencyKeyException(
          "record "
              + record.topic()
              + "-"
              + record.partition()
              + "@"
              + record.offset()
              + " has no '"
              + name
              + "' header to deduplicate on; publish through the OutboxKit"
              + " relay or give KafkaInbox a messageId function");
    }
    return new String(header.value(), StandardCharsets.UTF_8);
  }
}
