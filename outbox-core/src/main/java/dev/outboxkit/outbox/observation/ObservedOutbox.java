package dev.outboxkit.outbox.observation;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * An outbox whose calls are observations. The observation starts before the events are built, so
 * the trace context its tracing handler injected can be added to each message's headers; headers
 * the message sets itself win, as with a {@code HeaderContributor}. The scope is open while the
 * delegate runs, so a {@code HeaderContributor} that reads the current span sees the append span.
 */
final class ObservedOutbox implements Outbox {

  private static final DefaultOutboxAppendObservationConvention DEFAULT =
      new DefaultOutboxAppendObservationConvention();

  private final Outbox delegate;
  private final ObservationRegistry registry;
  private final @Nullable OutboxAppendObservationConvention convention;

  ObservedOutbox(
      Outbox delegate,
      ObservationRegistry registry,
      @Nullable OutboxAppendObservationConvention convention) {
    this.delegate = delegate;
    this.registry = registry;
    this.convention = convention;
  }

  @Override
  public OutboxEvent append(OutboxMessage message) {
    // The delegate's own append, so that a deferring outbox can hold the event for the commit.
    return observed(
            List.of(Objects.requireNonNull(message, "message")),
            messages -> List.of(delegate.append(messages.get(0))))
        .get(0);
  }

  @Override
  public List<OutboxEvent> appendAll(List<OutboxMessage> messages) {
    Objects.requireNonNull(messages, "messages");
    return observed(messages, delegate::appendAll);
  }

  @Override
  public void flush() {
    delegate.flush();
  }

  private List<OutboxEvent> observed(
      List<OutboxMessage> messages, Function<List<OutboxMessage>, List<OutboxEvent>> call) {
    if (messages.isEmpty() || registry.isNoop()) {
      return call.apply(messages);
    }
    OutboxAppendContext context = new OutboxAppendContext(delegate.table(), messages);
    Observation observation =
        Observation.createNotStarted(convention, DEFAULT, () -> context, registry).start();
    try (Observation.Scope scope = observation.openScope()) {
      List<OutboxEvent> events = call.apply(withPropagated(messages, context));
      context.events(events);
      return events;
    } catch (RuntimeException e) {
      observation.error(e);
      throw e;
    } finally {
      observation.stop();
    }
  }

  private static List<OutboxMessage> withPropagated(
      List<OutboxMessage> messages, OutboxAppendContext context) {
    Map<String, String> propagated = context.propagatedHeaders();
    if (propagated.isEmpty()) {
      return messages;
    }
    List<OutboxMessage> copies = new ArrayList<>(messages.size());
    for (OutboxMessage message : messages) {
      Map<String, String> missing = new LinkedHashMap<>(propagated);
      missing.keySet().removeAll(message.headers().keySet());
      copies.add(missing.isEmpty() ? message : message.withHeaders(missing));
    }
    return copies;
  }

  @Override
  public OutboxTable table() {
    return delegate.table();
  }

  @Override
  public String toString() {
    return "Observed" + delegate;
  }
}
