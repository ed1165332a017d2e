package dev.outboxkit.relay.internal.polling;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * A {@link MockProducer} that behaves like Kafka 4.2's {@code KafkaProducer} where the relay's
 * publisher depends on it, each record's fate taken from the delivery model's script:
 *
 * <ul>
 *   <li>errors {@code KafkaProducer.doSend} catches as {@code ApiException} (no metadata within
 *       {@code max.block.ms}, authorization at metadata) complete the callback before {@code send}
 *       returns; the broker's answers (acknowledgement, timeouts, refusals) complete it right
 *       after;
 *   <li>the producer's error state, as {@code TransactionManager.maybeFailWithError} raises it:
 *       after a fatal error (a {@code ClusterAuthorizationException} on {@code InitProducerId},
 *       fencing) and, with transactions, after any record error (abortable until {@code
 *       abortTransaction()}), {@code send}, {@code beginTransaction} and {@code commitTransaction}
 *       throw {@code KafkaException("Cannot execute transactional method because we are in an error
 *       state", cause)}; fencing throws {@code ProducerFencedException} (through the callback on
 *       {@code send}, as it is an {@code ApiException});
 *   <li>with transactions, records reach the topic at commit; an abort drops them.
 * </ul>
 */
final class ScriptedProducer extends MockProducer<byte[], byte[]> {

  /** What the producer asks of the model. */
  interface World {
    /** The broker's answer to this record. */
    DeliveryModel.Outcome outcome(ProducerRecord<byte[], byte[]> record);

    /** The broker refused the record for a reason of its own (not its health). */
    void refused(ProducerRecord<byte[], byte[]> record);

    /**
     * The broker wrote the record (visible to {@code read_committed} consumers). With transactions
     * this is called at commit, from the publisher's commit threads, for several partitions at
     * once.
     */
    void written(ProducerRecord<byte[], byte[]> record);

    /** The record was written, but its acknowledgement is lost: a duplicate to come. */
    void unacknowledged(ProducerRecord<byte[], byte[]> record);
  }

  static final String ERROR_STATE =
      "Cannot execute transactional method because we are in an error state";

  private final World world;
  private final boolean transactional;
  private RuntimeException fatal;
  private RuntimeException abortable;
  private RuntimeException commitFailure;
  private final List<ProducerRecord<byte[], byte[]>> pending = new ArrayList<>();

  ScriptedProducer(World world, boolean transactional) {
    super(false, null, new ByteArraySerializer(), new ByteArraySerializer());
    this.world = world;
    this.transactional = transactional;
  }

  /** The broker takes this producer's id away: every later call fails (the fatal error state). */
  void breakDown() {
    fatal = new ClusterAuthorizationException("Cluster authorization failed.");
  }

  private RuntimeException errorState() {
    RuntimeException state = fatal != null ? fatal : abortable;
    if (state instanceof ProducerFencedException) {
      return new ProducerFencedException(
          "Producer with transactionalId 'model' has been fenced by another producer with the same"
              + " transactionalId");
    }
    return new KafkaException(ERROR_STATE, state);
  }

  private boolean inError() {
    return fatal != null || abortable != null;
  }

  @Override
  public synchronized Future<RecordMetadata> send(
      ProducerRecord<byte[], byte[]> record, Callback callback) {
    DeliveryModel.Outcome outcome = world.outcome(record);
    if (outcome == DeliveryModel.Outcome.PRODUCER_BROKEN) {
      breakDown(); // in the background, before this send
    }
    if (inError()) {
      RuntimeException e = errorState();
      if (e instanceof ProducerFencedException f) {
        return failNow(record, callback, f);
      }
      throw e;
    }
    String topic = record.topic();
    if (outcome == DeliveryModel.Outcome.REFUSED || outcome == DeliveryModel.Outcome.TOO_LARGE) {
      world.refused(record);
    }
    switch (outcome) {
      case NO_METADATA -> {
        return failNow(
            record,
            callback,
            new TimeoutException("Topic " + topic + " not present in metadata after 10000 ms."));
      }
      case DENIED -> {
        return failNow(record, callback, new TopicAuthorizationException(Set.of(topic)));
      }
      default -> {}
    }
    Future<RecordMetadata> future = super.send(record, callback);
    switch (outcome) {
      case REFUSED -> answer(record, new UnknownTopicOrPartitionException("Unknown topic"), false);
      case TOO_LARGE ->
          answer(record, new RecordTooLargeException("larger than the topic's max"), false);
      case TIMEOUT_WRITTEN -> answer(record, new TimeoutException("Expiring 1 record(s)"), true);
      case TIMEOUT_LOST -> answer(record, new TimeoutException("Expiring 1 record(s)"), false);
      case DENIED_AFTER_HANDOVER, DENIED_ALL ->
          answer(record, new TopicAuthorizationException(Set.of(topic)), false);
      case FATAL -> {
        answer(record, new ClusterAuthorizationException("Cluster authorization failed."), false);
        fatal = new ClusterAuthorizationException("Cluster authorization failed.");
      }
      case FENCED -> {
        if (transactional) {
          answer(record, new ProducerFencedException("fenced"), false);
          fatal = new ProducerFencedException("fenced");
        } else {
          acknowledge(record);
        }
      }
      case COMMIT_TIMEOUT -> {
        acknowledge(record);
        commitFailure = new TimeoutException("commit timed out");
      }
      default -> acknowledge(record);
    }
    return future;
  }

  private void acknowledge(ProducerRecord<byte[], byte[]> record) {
    if (transactional) {
      pending.add(record);
    } else {
      world.written(record);
    }
    completeNext();
  }

  private void answer(
      ProducerRecord<byte[], byte[]> record, RuntimeException error, boolean written) {
    if (written) {
      if (transactional) {
        pending.add(record);
      } else {
        world.written(record);
        world.unacknowledged(record);
      }
    }
    if (transactional && abortable == null) {
      abortable = error; // TransactionManager.maybeTransitionToErrorState
    }
    errorNext(error);
  }

  private Future<RecordMetadata> failNow(
      ProducerRecord<byte[], byte[]> record, Callback callback, RuntimeException error) {
    callback.onCompletion(
        new RecordMetadata(new TopicPartition(record.topic(), 0), -1, -1, -1, -1, -1), error);
    if (transactional && abortable == null && fatal == null) {
      abortable = error;
    }
    java.util.concurrent.CompletableFuture<RecordMetadata> f =
        new java.util.concurrent.CompletableFuture<>();
    f.completeExceptionally(error);
    return f;
  }

  @Override
  public void beginTransaction() {
    if (inError()) {
      throw errorState();
    }
    super.beginTransaction();
  }

  @Override
  public synchronized void commitTransaction() {
    if (inError()) {
      throw errorState();
    }
    if (commitFailure != null) {
      RuntimeException e = commitFailure;
      commitFailure = null;
      throw e;
    }
    super.commitTransaction();
    pending.forEach(world::written);
    pending.clear();
  }

  @Override
  public synchronized void abortTransaction() {
    if (fatal != null) {
      throw errorState();
    }
    abortable = null;
    commitFailure = null;
    pending.clear();
    super.abortTransaction();
  }
}
