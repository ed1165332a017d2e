package dev.outboxkit.benchmarks.peers;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The ceiling for sending: a plain {@link KafkaProducer} sends the backlog from memory (no
 * database) and flushes. "Fill" only remembers how many events to send.
 */
final class RawProducerContender implements Contender {

  private final String topic;
  private final int payloadSize;
  private final KafkaProducer<String, byte[]> producer;
  private final AtomicInteger failed = new AtomicInteger();
  private int pending;
  private int keys;
  private Thread sender;

  RawProducerContender(String bootstrapServers, String topic, int payloadSize) {
    this.topic = topic;
    this.payloadSize = payloadSize;
    this.producer = Producers.create(bootstrapServers, 5);
  }

  @Override
  public String name() {
    return "raw KafkaProducer";
  }

  @Override
  public String topic() {
    return topic;
  }

  @Override
  public String settings() {
    return "idempotent, acks=all, linger.ms=5, batch.size=256 KiB; sends from memory, no database";
  }

  @Override
  public void fill(int events, int keys, int perTransaction) {
    this.pending = events;
    this.keys = keys;
  }

  @Override
  public void resume() {
    int events = pending;
    pending = 0;
    byte[] payload =
        Payloads.of(System.currentTimeMillis(), payloadSize).getBytes(StandardCharsets.UTF_8);
    sender =
        new Thread(
            () -> {
              for (int i = 0; i < events; i++) {
                producer.send(
                    new ProducerRecord<>(topic, "key-" + i % keys, payload),
                    (metadata, error) -> {
                      if (error != null) {
                        failed.incrementAndGet();
                      }
                    });
              }
              producer.flush();
            },
            "peers-raw-sender");
    sender.start();
  }

  @Override
  public void pause() {
    if (sender != null) {
      try {
        sender.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while the raw producer flushed", e);
      }
      sender = null;
    }
    if (failed.get() > 0) {
      throw new IllegalStateException(failed.get() + " raw sends failed");
    }
  }

  @Override
  public void appendOne(String key, String payload) {
    producer.send(new ProducerRecord<>(topic, key, payload.getBytes(StandardCharsets.UTF_8)));
  }

  @Override
  public void close() {
    producer.close();
  }
}
