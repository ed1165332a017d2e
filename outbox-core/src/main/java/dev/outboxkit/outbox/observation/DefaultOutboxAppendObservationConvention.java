package dev.outboxkit.outbox.observation;

import dev.outboxkit.outbox.OutboxMessage;
import io.micrometer.common.KeyValue;
import io.micrometer.common.KeyValues;

/**
 * The default names and tags of the append observation, after the OpenTelemetry messaging semantic
 * conventions (operation type {@code create}). Low cardinality (also metric tags): {@code
 * messaging.operation.type}, {@code outbox.table}, {@code outbox.aggregate.type} (the one aggregate
 * type of the call, or {@code mixed}). High cardinality (span attributes only): {@code
 * messaging.batch.message_count}, {@code messaging.message.id} (the event id, for a single event),
 * {@code outbox.event.type} (for a single event). Never the payload, the aggregate id (it may be
 * personal data) or a header value.
 *
 * @since 0.1
 */
public class DefaultOutboxAppendObservationConvention implements OutboxAppendObservationConvention {

  /** The observation's name, also the name of its timer when metrics observe it. */
  public static final String NAME = "outbox.append";

  @Override
  public String getName() {
    return NAME;
  }

  @Override
  public String getContextualName(OutboxAppendContext context) {
    return "create " + aggregateType(context);
  }

  @Override
  public KeyValues getLowCardinalityKeyValues(OutboxAppendContext context) {
    return KeyValues.of(
        KeyValue.of("messaging.operation.type", "create"),
        KeyValue.of("outbox.table", context.table().qualifiedName()),
        KeyValue.of("outbox.aggregate.type", aggregateType(context)));
  }

  @Override
  public KeyValues getHighCardinalityKeyValues(OutboxAppendContext context) {
    KeyValues values =
        KeyValues.of(
            KeyValue.of(
                "messaging.batch.message_count", Integer.toString(context.messages().size())));
    if (context.events().size() == 1) {
      values =
          values.and(
              KeyValue.of("messaging.message.id", context.events().get(0).id().toString()),
              KeyValue.of("outbox.event.type", context.events().get(0).eventType()));
    }
    return values;
  }

  private static String aggregateType(OutboxAppendContext context) {
    String type = null;
    for (OutboxMessage message : context.messages()) {
      if (type == null) {
        type = message.aggregateType();
      } else if (!type.equals(message.aggregateType())) {
        return "mixed";
      }
    }
    return type == null ? "none" : type;
  }
}
