package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RelayMetricsTests {

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final RelayMetrics metrics = new RelayMetrics(registry, "outbox_event");

  @Test
  void aFailedMeasurementSetsTheGaugesToNaNAndIsCountedInsteadOfFreezingThem() {
    metrics.outbox(12, Duration.ofSeconds(3));
    assertThat(registry.get("outbox.lag").gauge().value()).isEqualTo(3.0);

    metrics.measurementFailed();

    assertThat(registry.get("outbox.backlog").gauge().value()).isNaN();
    assertThat(registry.get("outbox.lag").gauge().value()).isNaN();
    assertThat(registry.get("outbox.relay.measurement.failures").counter().count()).isEqualTo(1);
    assertThat(metrics.lag()).isNull();
    assertThat(metrics.backlog()).isEqualTo(-1);
  }

  @Test
  void theLagIsUnknownUntilFirstMeasured() {
    assertThat(registry.get("outbox.lag").gauge().value()).isNaN();
    assertThat(metrics.lag()).isNull();
    metrics.outbox(0, Duration.ZERO);
    assertThat(metrics.lag()).isEqualTo(Duration.ZERO);
  }

  @Test
  void publishedParkedAndOtherProgressMoveTheProgressMark() {
    long before = metrics.progress();
    metrics.delivered(Duration.ofMillis(5));
    metrics.parked();
    metrics.progressed();
    assertThat(metrics.progress()).isEqualTo(before + 3);
    metrics.failed(false);
    assertThat(metrics.progress()).as("a failed attempt is not progress").isEqualTo(before + 3);
  }
}
