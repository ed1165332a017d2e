package dev.outboxkit.relay.internal.delivery;

import java.time.Duration;

/**
 * A {@link BatchSender} whose connection to the broker the relay owns: started once before the
 * first batch, closed when the relay stops. The polling and the CDC relay hold their publishers by
 * this type; the Kafka implementation comes from {@code KafkaPublishers.create}.
 *
 * <p>Thread contract: like {@link BatchSender}, used by one publishing thread; {@link #close} is
 * called once that thread stopped (or by the thread stopping the relay). Not API.
 */
public interface ManagedBatchSender extends BatchSender, AutoCloseable {

  /**
   * Connects now, so that settings the broker's client refuses stop the relay at start-up with the
   * client's message instead of failing at the first send.
   *
   * @throws IllegalStateException naming the cause and the properties to change
   */
  void start();

  /**
   * Closes the connection, waiting up to {@code timeout} for records still buffered; records not
   * acknowledged by then fail (their events are sent again later: at-least-once).
   *
   * @param timeout how long to wait, not null; {@link Duration#ZERO} to close at once
   */
  void close(Duration timeout);

  /** Closes with a wait of 5 seconds for records still buffered. */
  @Override
  default void close() {
    close(Duration.ofSeconds(5));
  }
}
