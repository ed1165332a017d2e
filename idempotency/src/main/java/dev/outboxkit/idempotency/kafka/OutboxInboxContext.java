package dev.outboxkit.idempotency.kafka;

import io.micrometer.observation.transport.Kind;
import io.micrometer.observation.transport.ReceiverContext;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.jspecify.annotations.Nullable;

/**
 * What an inbox observation sees: the record, the consumer name and, once processed, whether the
 * handler ran or the record was a duplicate. The trace context is read from the record's headers
 * (the W3C {@code traceparent} the event got at append), so a tracing handler makes the processing
 * span a child of the event's creation span: one trace from the request that appended the event to
 * its processing.
 *
 * @since 0.1
 */
public final class OutboxInboxContext extends ReceiverContext<ConsumerRecord<?, ?>> {

  private final String consumer;
  private @Nullable Boolean handled;

  /**
   * @param record the record being processed, not null
   * @param consumer the inbox's consumer name, not null
   */
  public OutboxInboxContext(ConsumerRecord<?, ?> record, String consumer) {
    super(OutboxInboxContext::header, Kind.CONSUMER);
    setCarrier(record);
    this.consumer = consumer;
    setRemoteServiceName("kafka");
  }

  private static @Nullable String header(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null || header.value() == null
        ? null
        : new String(header.value(), StandardCharsets.UTF_8);
  }

  /** The record being processed. */
  public ConsumerRecord<?, ?> record() {
    ConsumerRecord<?, ?> record = getCarrier();
    if (record == null) {
      throw new IllegalStateException("no record");
    }
    return record;
  }

  /** The inbox's consumer name (the name message ids are unique for). */
  public String consumer() {
    return consumer;
  }

  /**
   * Whether the handler ran ({@code true}), the record was a duplicate ({@code false}), or
   * processing has not finished or failed ({@code null}).
   */
  public @Nullable Boolean handled() {
    return handled;
  }

  void handled(boolean handled) {
    this.handled = handled;
  }
}
