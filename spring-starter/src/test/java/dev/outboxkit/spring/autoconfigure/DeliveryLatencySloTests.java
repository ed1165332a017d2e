package dev.outboxkit.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * The embedded relay's delivery-latency timer has the exact 5 s bucket the shipped SLO rules read
 * ({@code le="5.0"}), without the application configuring {@code
 * management.metrics.distribution.slo}, and whatever other buckets it configures.
 */
class DeliveryLatencySloTests {

  private static final double FIVE_SECONDS_NANOS = TimeUnit.SECONDS.toNanos(5);

  /** Every auto-configuration the starter registers, as an application gets them. */
  private static AutoConfigurations starter() throws Exception {
    List<String> names =
        Files.readAllLines(
                Path.of(
                    "src/main/resources/META-INF/spring/"
                        + "org.springframework.boot.autoconfigure.AutoConfiguration.imports"))
            .stream()
            .map(String::strip)
            .filter(l -> !l.isEmpty() && !l.startsWith("#"))
            .toList();
    assertThat(names).isNotEmpty();
    Class<?>[] classes = new Class<?>[names.size() + 2];
    classes[0] = MetricsAutoConfiguration.class;
    classes[1] = SimpleMetricsExportAutoConfiguration.class;
    for (int i = 0; i < names.size(); i++) {
      classes[i + 2] = Class.forName(names.get(i));
    }
    return AutoConfigurations.of(classes);
  }

  /** The bucket boundaries of the timer the relay registers (RelayMetrics' builder options). */
  private static double[] buckets(MeterRegistry registry) {
    Timer timer =
        Timer.builder("outbox.delivery.latency")
            .tag("table", "outbox_event")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1))
            .maximumExpectedValue(Duration.ofMinutes(10))
            .register(registry);
    timer.record(Duration.ofSeconds(1));
    return Arrays.stream(timer.takeSnapshot().histogramCounts())
        .mapToDouble(CountAtBucket::bucket)
        .toArray();
  }

  @Test
  void theEmbeddedRelaysLatencyTimerHasTheExactFiveSecondBucket() throws Exception {
    new ApplicationContextRunner()
        .withConfiguration(starter())
        .withPropertyValues("outbox.relay.enabled=true")
        .run(
            context ->
                assertThat(buckets(context.getBean(MeterRegistry.class)))
                    .as("bucket boundaries (ns)")
                    .contains(FIVE_SECONDS_NANOS));
  }

  @Test
  void anApplicationsOwnSloBucketsAreKeptAndTheFiveSecondBucketAdded() throws Exception {
    new ApplicationContextRunner()
        .withConfiguration(starter())
        .withPropertyValues(
            "outbox.relay.enabled=true",
            "management.metrics.distribution.slo[outbox.delivery.latency]=1s,30s")
        .run(
            context ->
                assertThat(buckets(context.getBean(MeterRegistry.class)))
                    .contains(
                        (double) TimeUnit.SECONDS.toNanos(1),
                        FIVE_SECONDS_NANOS,
                        (double) TimeUnit.SECONDS.toNanos(30)));
  }

  @Test
  void otherTimersAreLeftAlone() throws Exception {
    new ApplicationContextRunner()
        .withConfiguration(starter())
        .withPropertyValues("outbox.relay.enabled=true")
        .run(
            context -> {
              Timer other =
                  Timer.builder("http.server.requests")
                      .serviceLevelObjectives(Duration.ofSeconds(2))
                      .register(context.getBean(MeterRegistry.class));
              other.record(Duration.ofSeconds(1));
              assertThat(
                      Arrays.stream(other.takeSnapshot().histogramCounts())
                          .mapToDouble(CountAtBucket::bucket)
                          .toArray())
                  .containsExactly(TimeUnit.SECONDS.toNanos(2));
            });
  }
}
