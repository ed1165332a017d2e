package dev.outboxkit.relay.observation;

import dev.outboxkit.outbox.OutboxEvent;
import io.micrometer.observation.transport.Kind;
import io.micrometer.observation.transport.ReceiverContext;
import org.jspecify.annotations.Nullable;

/**
 * What a publish observation sees: the event, the topic it goes to and, once the broker answered,
 * the outcome. The trace context is read from the event's stored headers (the W3C {@code
 * traceparent} written at append), so a tracing handler makes the publish span a child of the
 * append span although it runs later, on the relay's thread or in another process. It is a {@link
 * ReceiverContext} of kind {@link Kind#PRODUCER}: the context is extracted from the carrier (the
 * event), and the span is a producer span.
 *
 * <p>The record sent keeps the event's own {@code traceparent} (the append's context): a consumer
 * continues the trace of the message's creation, as the OpenTelemetry messaging conventions ask,
 * and polling, CDC and a Kafka Connect cluster produce identical records.
 *
 * @since 0.1
 */
public final class OutboxPublishContext extends ReceiverContext<OutboxEvent> {

  /** What became of the send. */
  public enum Outcome {
    /** The broker acknowledged the record. */
    ACKED,
    /** The send failed; the relay retries or parks the event. */
    FAILED,
    /** Not handed over in this batch (an earlier event of its key failed); sent again later. */
    DEFERRED
  }

  private final @Nullable String topic;
  private @Nullable Outcome outcome;

  /**
   * @param event the event being sent, not null
   * @param topic the topic the router chose, or {@code null} when the router failed
   */
  public OutboxPublishContext(OutboxEvent event, @Nullable String topic) {
    super((carrier, key) -> carrier.headers().get(key), Kind.PRODUCER);
    setCarrier(event);
    this.topic = topic;
    setRemoteServiceName("kafka");
  }

  /** The event being sent. */
  public OutboxEvent event() {
    OutboxEvent event = getCarrier();
    if (event == null) {
      throw new IllegalStateException("no event");
    }
    return event;
  }

  /** The topic, or {@code null} when the topic router failed for this event. */
  public @Nullable String topic() {
    return topic;
  }

  /** What became of the send, or {@code null} while the broker has not answered. */
  public @Nullable Outcome outcome() {
    return outcome;
  }

  /**
   * Records what became of the send; called by the relay before it stops the observation.
   *
   * @param outcome the outcome, not null
   */
  public void outcome(Outcome outcome) {
    this.outcome = outcome;
  }
}
