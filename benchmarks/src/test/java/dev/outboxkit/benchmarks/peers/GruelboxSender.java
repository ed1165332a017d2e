package dev.outboxkit.benchmarks.peers;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The service whose calls gruelbox transaction-outbox records and replays: one Kafka send, waited
 * for, because the library deletes the entry as soon as the call returns (an unacknowledged send
 * would be lost). Public and non-final: the library proxies it with Byte Buddy.
 */
public class GruelboxSender {

  private final KafkaProducer<String, byte[]> producer;

  GruelboxSender(KafkaProducer<String, byte[]> producer) {
    this.producer = producer;
  }

  /**
   * Sends one event and waits for the broker's acknowledgement; a failure is thrown, so the library
   * keeps the entry and retries it.
   */
  public void send(String topic, String key, String payload) {
    try {
      producer
          .send(new ProducerRecord<>(topic, key, payload.getBytes(StandardCharsets.UTF_8)))
          .get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("send failed", e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while sending", e);
    }
  }
}
