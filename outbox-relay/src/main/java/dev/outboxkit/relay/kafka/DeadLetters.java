package dev.outboxkit.relay.kafka;

import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.spi.TopicRouter;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies a parked event to the dead-letter topic: the same record as a normal send (so consumers of
 * the dead-letter topic can read it the same way) plus two headers, the error that parked it and
 * the topic it was meant for (empty when the router itself failed). The copy goes through the
 * shared idempotent producer, also with transactional fencing (a parked event belongs to no batch),
 * and is awaited up to the producer's delivery timeout. A copy that fails is logged and reported as
 * {@code false}, never thrown: the event is parked in the outbox table either way, and the table,
 * not the dead-letter topic, is what operators list and replay from.
 */
final class DeadLetters {

  private static final Logger log = LoggerFactory.getLogger(DeadLetters.class);

  private final TopicRouter router;
  private final SharedProducer producer;
  private final long timeoutMillis;

  DeadLetters(TopicRouter router, SharedProducer producer, long timeoutMillis) {
    this.router = router;
    this.producer = producer;
    this.timeoutMillis = timeoutMillis;
  }

  /**
   * Sends the copy and waits up to the producer's delivery timeout for it.
   *
   * @return whether the broker acknowledged it
   */
  boolean send(PendingEvent pending, String topic, String error) {
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
      producer.get().send(record).get(timeoutMillis, TimeUnit.MILLISECONDS);
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
}
