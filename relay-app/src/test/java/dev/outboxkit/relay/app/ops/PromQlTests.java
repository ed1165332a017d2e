package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PromQlTests {

  @Test
  void findsMetricsButNotFunctionsKeywordsDurationsOrVariables() {
    PromQl.Dependencies d =
        PromQl.read(
            "histogram_quantile(0.99, sum by (le, table) (rate(outbox_delivery_latency_seconds_bucket"
                + "{application=~\"$application\", le!=\"\"}[$__rate_interval]))) > 1e3"
                + " and on (table) outbox_lag_seconds offset 5m unless up == bool 0");
    assertThat(d.metrics())
        .containsExactly("outbox_delivery_latency_seconds_bucket", "outbox_lag_seconds", "up");
    assertThat(d.groupingLabels()).containsExactly("le", "table");
  }

  @Test
  void keepsTheLabelValuesThatMatchersRequire() {
    PromQl.Dependencies d =
        PromQl.read(
            "max(outbox_relay_circuit_state{state=~\"open|half_open\", table=\"t\", x!=\"y\"})"
                + " + label_replace(up{job=\"a\"}, \"dst\", \"$1\", \"src\", \"(.*)\")");
    assertThat(d.selectors().get(0).requiredLabelValues())
        .isEqualTo(Map.of("state", Set.of("open", "half_open"), "table", Set.of("t")));
    assertThat(d.metrics()).containsExactly("outbox_relay_circuit_state", "up");
  }

  @Test
  void recordingRuleNamesWithColonsAreMetrics() {
    assertThat(
            PromQl.read("outbox:delivery_latency_slo_errors:ratio_rate1h > (14.4 * 0.01)")
                .metrics())
        .containsExactly("outbox:delivery_latency_slo_errors:ratio_rate1h");
  }
}
