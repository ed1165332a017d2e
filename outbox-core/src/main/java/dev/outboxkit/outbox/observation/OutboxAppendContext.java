package dev.outboxkit.outbox.observation;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import io.micrometer.observation.transport.Kind;
import io.micrometer.observation.transport.SenderContext;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What an append observation sees: the table, the messages of one {@code append}/{@code appendAll}
 * call and, once they were inserted, their envelopes. It is a {@link SenderContext} whose carrier
 * is a header map: a tracing handler writes the observation's trace context into it (W3C {@code
 * traceparent}), and the outbox copies those headers into every event of the call that does not set
 * them itself. This is the OpenTelemetry messaging "create" operation: the context the message
 * carries to the relay and the consumer.
 *
 * <p>Created per call, on the appending thread; not thread-safe.
 *
 * @since 0.1
 */
public final class OutboxAppendContext extends SenderContext<Map<String, String>> {

  private final OutboxTable table;
  private final List<OutboxMessage> messages;
  private List<OutboxEvent> events = List.of();

  /**
   * @param table the outbox table, not null
   * @param messages the messages being appended, not null, not empty
   */
  public OutboxAppendContext(OutboxTable table, List<OutboxMessage> messages) {
    super((carrier, key, value) -> carrier.put(key, value), Kind.PRODUCER);
    this.table = table;
    this.messages = List.copyOf(messages);
    setCarrier(new HashMap<>());
  }

  /** The outbox table written to. */
  public OutboxTable table() {
    return table;
  }

  /** The messages of the call, in order. */
  public List<OutboxMessage> messages() {
    return messages;
  }

  /** The stored envelopes once the insert succeeded; empty before, and after a failure. */
  public List<OutboxEvent> events() {
    return events;
  }

  void events(List<OutboxEvent> events) {
    this.events = List.copyOf(events);
  }

  /** The headers the tracing handler wrote, to be copied into each event; not null. */
  Map<String, String> propagatedHeaders() {
    Map<String, String> carrier = getCarrier();
    return carrier == null ? Map.of() : carrier;
  }
}
