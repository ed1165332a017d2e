package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.spi.HeaderContributor;
import io.micrometer.tracing.TraceContext;
import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.propagation.Propagator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Captures the active trace into each event's headers (W3C {@code traceparent} and {@code
 * tracestate} with the OpenTelemetry and Brave W3C propagators), so the consumer's span continues
 * the producer's trace even though the relay sends the record later, from another thread or
 * process.
 */
final class TracingHeaderContributor implements HeaderContributor {

  private final Tracer tracer;
  private final Propagator propagator;

  /**
   * @param tracer the application's tracer
   * @param propagator how trace context is written into headers
   */
  TracingHeaderContributor(Tracer tracer, Propagator propagator) {
    this.tracer = tracer;
    this.propagator = propagator;
  }

  @Override
  public Map<String, String> headersFor(OutboxMessage message) {
    TraceContext context = tracer.currentTraceContext().context();
    if (context == null) {
      return Map.of();
    }
    Map<String, String> headers = new LinkedHashMap<>();
    propagator.inject(context, headers, Map::put);
    return headers;
  }
}
