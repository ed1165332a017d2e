package dev.outboxkit.spring.autoconfigure;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.stream.DoubleStream;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;

/**
 * The embedded relay's metrics as the shipped alert rules read them: the delivery-latency SLO (99 %
 * within 5 s, {@code deploy/prometheus}) counts events in the {@code outbox.delivery.latency}
 * histogram's exact 5 s bucket ({@code le="5.0"}), which the percentile histogram alone does not
 * have. The standalone relay app sets {@code management.metrics.distribution.slo}; an application
 * running the relay gets the bucket from this filter, added to any SLO buckets it configures
 * itself.
 */
@AutoConfiguration(
    afterName =
        "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration")
@ConditionalOnClass(MeterFilter.class)
@ConditionalOnBooleanProperty(name = "outbox.relay.enabled")
public final class RelayMetricsAutoConfiguration {

  /** The timer whose SLO bucket the rules read. */
  static final String DELIVERY_LATENCY = "outbox.delivery.latency";

  /** The SLO's threshold, in nanoseconds (a timer's bucket unit). */
  static final double SLO_NANOS = TimeUnit.SECONDS.toNanos(5);

  /**
   * Adds the 5 s bucket. Ordered last, after Boot's filter for {@code management.metrics.*}, which
   * replaces the SLO buckets with the configured ones: this one then adds to them.
   */
  @Bean
  @Order(Ordered.LOWEST_PRECEDENCE)
  @ConditionalOnMissingBean(name = "outboxDeliveryLatencySloMeterFilter")
  MeterFilter outboxDeliveryLatencySloMeterFilter() {
    return new MeterFilter() {
      @Override
      public @Nullable DistributionStatisticConfig configure(
          Meter.Id id, DistributionStatisticConfig config) {
        if (!DELIVERY_LATENCY.equals(id.getName())) {
          return config;
        }
        double[] slos = config.getServiceLevelObjectiveBoundaries();
        double[] present = slos == null ? new double[0] : slos;
        if (Arrays.stream(present).anyMatch(b -> b == SLO_NANOS)) {
          return config;
        }
        double[] merged =
            DoubleStream.concat(Arrays.stream(present), DoubleStream.of(SLO_NANOS))
                .sorted()
                .toArray();
        return DistributionStatisticConfig.builder()
            .serviceLevelObjectives(merged)
            .build()
            .merge(config);
      }
    };
  }
}
