package dev.outboxkit.relay.internal.kafka;

import java.time.Duration;
import java.util.Map;
import java.util.function.Function;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The publisher's idempotent producer (the one for plain sends, and for dead-letter copies in
 * either mode). It is created on first use, so a constructor does no I/O; {@link #start} creates it
 * early to fail fast on settings Kafka refuses. After an error that leaves a producer unusable
 * ({@link KafkaErrors#needsNewProducer}) it is closed at once and the next use creates a fresh one,
 * with a new producer id (the sequence numbers of the old one cannot be resumed).
 *
 * <p>Not thread-safe: used by the relay's publishing thread only.
 */
final class SharedProducer {

  private static final Logger log = LoggerFactory.getLogger(SharedProducer.class);

  private final Map<String, Object> config;
  private final Function<Map<String, Object>, Producer<byte[], byte[]>> factory;
  private @Nullable Producer<byte[], byte[]> producer;
  // Set by close(), possibly from the thread stopping the relay: no producer is created after it.
  private volatile boolean closed;

  /**
   * @param config the producer's configuration
   * @param factory creates a producer from a configuration ({@code KafkaProducer::new}; tests pass
   *     Kafka's {@code MockProducer})
   */
  SharedProducer(
      Map<String, Object> config, Function<Map<String, Object>, Producer<byte[], byte[]>> factory) {
    this.config = config;
    this.factory = factory;
  }

  /**
   * Creates the producer now, so that settings Kafka refuses (a bad SASL/JAAS configuration, an
   * unknown serializer, a malformed bootstrap address) stop the relay at start-up with Kafka's
   * message instead of failing at the first send.
   *
   * @throws IllegalStateException naming the cause
   */
  void start() {
    try {
      get();
    } catch (KafkaException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new IllegalStateException(
          "The Kafka producer could not be created from the relay's producer properties"
              + " (outbox.relay.kafka.*): "
              + KafkaErrors.describe(cause),
          e);
    }
  }

  /** The producer, created if there is none. */
  Producer<byte[], byte[]> get() {
    if (closed) {
      throw new IllegalStateException("The relay's Kafka producer was closed: the relay stops");
    }
    Producer<byte[], byte[]> p = producer;
    if (p == null) {
      p = factory.apply(config);
      producer = p;
    }
    return p;
  }

  /** Closes the producer at once; the next {@link #get} creates a new one. */
  void reset() {
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
  void close(Duration timeout) {
    closed = true;
    Producer<byte[], byte[]> p = producer;
    if (p != null) {
      p.close(timeout);
      producer = null;
    }
  }
}
