package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The shipped rules ({@code deploy/prometheus}): promtool accepts them, their unit tests pass, and
 * every alert carries what an on-call engineer needs and is tested both firing and not firing.
 */
class PrometheusRulesTests {

  @Test
  void promtoolAcceptsTheRules() throws Exception {
    String out = Promtool.run("check", "rules", DeployFiles.rules().toString());
    assertThat(out).contains("SUCCESS");
  }

  @Test
  void promtoolUnitTestsPass() throws Exception {
    String out = Promtool.run("test", "rules", DeployFiles.ruleTests().toString());
    assertThat(out).contains("SUCCESS");
  }

  @Test
  void everyAlertHasSeveritySummaryDescriptionAndRunbook() throws Exception {
    List<AlertRules.Rule> alerts = AlertRules.alerts();
    assertThat(alerts).hasSizeGreaterThanOrEqualTo(10);
    for (AlertRules.Rule alert : alerts) {
      assertThat(alert.labels().get("severity"))
          .as(alert.alert() + " severity")
          .isIn("critical", "warning");
      assertThat(alert.annotations())
          .as(alert.alert())
          .containsKeys("summary", "description", "runbook_url");
      assertThat(alert.annotations().get("runbook_url"))
          .as(alert.alert())
          .startsWith(RunbookLinks.BASE)
          .endsWith(".md");
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void everyAlertIsTestedFiringAndNotFiring() throws Exception {
    Map<String, Object> tests = (Map<String, Object>) AlertRules.yaml(DeployFiles.ruleTests());
    Set<String> firing = new LinkedHashSet<>();
    Set<String> quiet = new LinkedHashSet<>();
    for (Map<String, Object> test : (List<Map<String, Object>>) tests.get("tests")) {
      for (Map<String, Object> check :
          (List<Map<String, Object>>) test.getOrDefault("alert_rule_test", List.of())) {
        List<?> expected = (List<?>) check.get("exp_alerts");
        (expected == null || expected.isEmpty() ? quiet : firing)
            .add((String) check.get("alertname"));
      }
    }
    for (AlertRules.Rule alert : AlertRules.alerts()) {
      assertThat(firing).as("a test where %s fires", alert.alert()).contains(alert.alert());
      assertThat(quiet).as("a test where %s stays quiet", alert.alert()).contains(alert.alert());
    }
  }
}
