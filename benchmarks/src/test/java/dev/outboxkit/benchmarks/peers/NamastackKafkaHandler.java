package dev.outboxkit.benchmarks.peers;

import io.namastack.outbox.handler.OutboxHandler;
import io.namastack.outbox.handler.OutboxRecordMetadata;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * What namastack-outbox-kafka 1.6.0's {@code KafkaOutboxHandler} does (its jar does not resolve
 * here): one record per outbox record, keyed by the record key, sent and waited for, the failure
 * rethrown so the library retries. A plain producer instead of a {@code KafkaTemplate}; the same
 * call underneath.
 */
final class NamastackKafkaHandler implements OutboxHandler {

  private final KafkaProducer<String, byte[]> producer;
  private final String topic;

  NamastackKafkaHandler(KafkaProducer<String, byte[]> producer, String topic) {
    this.producer = producer;
    this.topic = topic;
  }

  @Override
  public boolean supports(Object payload, OutboxRecordMetadata metadata) {
    return true;
  }

  @Override
  public void handle(Object payload, OutboxRecordMetadata metadata) {
    byte[] value = payload.toString().getBytes(StandardCharsets.UTF_8);
    try {
      producer.send(new ProducerRecord<>(topic, metadata.getKey(), value)).get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("send failed", e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while sending", e);
    }
  }
}
