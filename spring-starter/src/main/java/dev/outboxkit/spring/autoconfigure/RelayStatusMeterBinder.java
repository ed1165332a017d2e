package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.relay.OutboxRelay;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.List;
import java.util.Locale;

/**
 * Two meters that the shipped alert rules and dashboards need and the relay itself does not
 * publish: the broker circuit breaker's state, one gauge per state ({@code 1} for the current one,
 * as Resilience4j's own binder does), and the number of outbox partitions the deployment is
 * configured with, so that "partitions nobody owns" is {@code configured - sum(owned)}. Both read
 * the relay's in-memory status snapshot; a scrape never touches the database or the broker.
 */
final class RelayStatusMeterBinder implements MeterBinder {

  /** The states Resilience4j's circuit breaker can be in, as the relay's status names them. */
  static final List<String> CIRCUIT_STATES =
      List.of("CLOSED", "OPEN", "HALF_OPEN", "DISABLED", "FORCED_OPEN", "METRICS_ONLY");

  private final OutboxRelay relay;
  private final String table;
  private final int partitions;

  RelayStatusMeterBinder(OutboxRelay relay, String table, int partitions) {
    this.relay = relay;
    this.table = table;
    this.partitions = partitions;
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    for (String state : CIRCUIT_STATES) {
      Gauge.builder(
              "outbox.relay.circuit.state",
              relay,
              r -> state.equalsIgnoreCase(r.status().circuitState()) ? 1 : 0)
          .description("1 for the broker circuit breaker's current state, 0 for the others")
          .tag("table", table)
          .tag("state", state.toLowerCase(Locale.ROOT))
          .register(registry);
    }
    Gauge.builder("outbox.relay.partitions.configured", () -> partitions)
        .description(
            "Outbox partitions the deployment is configured with (outbox.store.partitions)")
        .tag("table", table)
        .register(registry);
  }
}
