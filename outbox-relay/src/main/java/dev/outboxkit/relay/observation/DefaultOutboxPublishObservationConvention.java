package dev.outboxkit.relay.observation;

import dev.outboxkit.outbox.OutboxEvent;
import io.micrometer.common.KeyValue;
import io.micrometer.common.KeyValues;

/**
 * The default names and tags of the publish observation, after the OpenTelemetry messaging semantic
 * conventions (operation {@code send}). Low cardinality (also metric tags): {@code
 * messaging.system} ({@code kafka}), {@code messaging.operation.type} and {@code
 * messaging.operation.name} ({@code send}), {@code messaging.destination.name} (the topic), {@code
 * outbox.outcome} ({@code acked}, {@code failed}, {@code deferred}). High cardinality (span
 * attributes only): {@code messaging.message.id} (the event id), {@code outbox.event.type}, {@code
 * outbox.aggregate.type}, {@code outbox.partition} (the outbox partition). Never the payload, the
 * key (the aggregate id may be personal data) or a header value.
 *
 * @since 0.1
 */
public class DefaultOutboxPublishObservationConvention
    implements OutboxPublishObservationConvention {

  /** The observation's name, also the name of its timer when metrics observe it. */
  public static final String NAME = "outbox.publish";

  @Override
  public String getName() {
    return NAME;
  }

  @Override
  public String getContextualName(OutboxPublishContext context) {
    return "send " + topic(context);
  }

  @Override
  public KeyValues getLowCardinalityKeyValues(OutboxPublishContext context) {
    OutboxPublishContext.Outcome outcome = context.outcome();
    return KeyValues.of(
        KeyValue.of("messaging.system", "kafka"),
        KeyValue.of("messaging.operation.type", "send"),
        KeyValue.of("messaging.operation.name", "send"),
        KeyValue.of("messaging.destination.name", topic(context)),
        KeyValue.of(
            "outbox.outcome",
            outcome == null ? "unknown" : outcome.name().toLowerCase(java.util.Locale.ROOT)));
  }

  @Override
  public KeyValues getHighCardinalityKeyValues(OutboxPublishContext context) {
    OutboxEvent event = context.event();
    return KeyValues.of(
        KeyValue.of("messaging.message.id", event.id().toString()),
        KeyValue.of("outbox.event.type", event.eventType()),
        KeyValue.of("outbox.aggregate.type", event.aggregateType()),
        KeyValue.of("outbox.partition", Integer.toString(event.partition())));
  }

  private static String topic(OutboxPublishContext context) {
    String topic = context.topic();
    return topic == null ? "unknown" : topic;
  }
}
