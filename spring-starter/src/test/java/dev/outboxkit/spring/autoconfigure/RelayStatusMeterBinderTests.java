package dev.outboxkit.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.RelayStatus;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class RelayStatusMeterBinderTests {

  private final AtomicReference<String> circuit = new AtomicReference<>("CLOSED");

  private final OutboxRelay relay =
      new OutboxRelay() {
        @Override
        public void start() {}

        @Override
        public void wakeUp() {}

        @Override
        public void pause() {}

        @Override
        public void resume() {}

        @Override
        public RelayStatus status() {
          return new RelayStatus(
              "r-1",
              RelayStatus.State.RUNNING,
              Set.of(1),
              0,
              Duration.ZERO,
              0,
              circuit.get(),
              null,
              null);
        }

        @Override
        public ParkedEvents parkedEvents() {
          throw new UnsupportedOperationException();
        }

        @Override
        public void close() {}
      };

  private double state(SimpleMeterRegistry registry, String state) {
    return registry
        .get("outbox.relay.circuit.state")
        .tag("table", "outbox_event")
        .tag("state", state)
        .gauge()
        .value();
  }

  @Test
  void followsTheCircuitStateAndPublishesTheConfiguredPartitions() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    new RelayStatusMeterBinder(relay, "outbox_event", 16).bindTo(registry);
    assertThat(state(registry, "closed")).isEqualTo(1);
    assertThat(state(registry, "open")).isZero();
    circuit.set("OPEN");
    assertThat(state(registry, "closed")).isZero();
    assertThat(state(registry, "open")).isEqualTo(1);
    circuit.set("HALF_OPEN");
    assertThat(state(registry, "half_open")).isEqualTo(1);
    assertThat(registry.get("outbox.relay.circuit.state").gauges())
        .hasSize(RelayStatusMeterBinder.CIRCUIT_STATES.size());
    assertThat(registry.get("outbox.relay.partitions.configured").gauge().value()).isEqualTo(16);
  }
}
