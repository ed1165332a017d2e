package dev.outboxkit.idempotency.kafka;

import dev.outboxkit.outbox.OutboxHeaders;
import io.micrometer.common.KeyValue;
import io.micrometer.common.KeyValues;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;

/**
 * The default names and tags of the inbox observation, after the OpenTelemetry messaging semantic
 * conventions (operation {@code process}). Low cardinality (also metric tags): {@code
 * messaging.system} ({@code kafka}), {@code messaging.operation.type} and {@code
 * messaging.operation.name} ({@code process}), {@code messaging.destination.name} (the topic),
 * {@code messaging.consumer.group.name} (the inbox's consumer name), {@code outbox.inbox.outcome}
 * ({@code handled}, {@code duplicate}, {@code failed}). High cardinality (span attributes only):
 * {@code messaging.message.id} (the {@code outbox-event-id} header), {@code
 * messaging.destination.partition.id}, {@code messaging.kafka.offset}. Never the payload, the key
 * or another header's value.
 *
 * @since 0.1
 */
public class DefaultOutboxInboxObservationConvention implements OutboxInboxObservationConvention {

  /** The observation's name, also the name of its timer when metrics observe it. */
  public static final String NAME = "outbox.inbox.process";

  @Override
  public String getName() {
    return NAME;
  }

  @Override
  public String getContextualName(OutboxInboxContext context) {
    return "process " + context.record().topic();
  }

  @Override
  public KeyValues getLowCardinalityKeyValues(OutboxInboxContext context) {
    Boolean handled = context.handled();
    return KeyValues.of(
        KeyValue.of("messaging.system", "kafka"),
        KeyValue.of("messaging.operation.type", "process"),
        KeyValue.of("messaging.operation.name", "process"),
        KeyValue.of("messaging.destination.name", context.record().topic()),
        KeyValue.of("messaging.consumer.group.name", context.consumer()),
        KeyValue.of(
            "outbox.inbox.outcome",
            handled == null ? "failed" : handled ? "handled" : "duplicate"));
  }

  @Override
  public KeyValues getHighCardinalityKeyValues(OutboxInboxContext context) {
    KeyValues values =
        KeyValues.of(
            KeyValue.of(
                "messaging.destination.partition.id",
                Integer.toString(context.record().partition())),
            KeyValue.of("messaging.kafka.offset", Long.toString(context.record().offset())));
    Header id = context.record().headers().lastHeader(OutboxHeaders.EVENT_ID);
    if (id != null && id.value() != null) {
      values =
          values.and(
              KeyValue.of("messaging.message.id", new String(id.value(), StandardCharsets.UTF_8)));
    }
    return values;
  }
}
