package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The shipped dashboards ({@code deploy/grafana}): valid against the JSON Schema shipped next to
 * them, panels laid out without overlap, the template variables operators filter by, and every
 * PromQL expression parses (promtool). That their metric names are real is checked by {@link
 * RealScrapeIntegrationTests}.
 */
class GrafanaDashboardsTests {

  @Test
  void everyDashboardIsValidAgainstTheSchema() throws Exception {
    JsonSchema schema =
        JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
            .getSchema(DeployFiles.dashboards().resolve("dashboard.schema.json").toUri());
    ObjectMapper json = new ObjectMapper();
    assertThat(Dashboards.files()).hasSize(2);
    for (Path file : Dashboards.files()) {
      Set<ValidationMessage> errors = schema.validate(json.readTree(file.toFile()));
      assertThat(errors).as(file.toString()).isEmpty();
    }
  }

  @Test
  void theSchemaRejectsWhatItShould() throws Exception {
    JsonSchema schema =
        JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
            .getSchema(DeployFiles.dashboards().resolve("dashboard.schema.json").toUri());
    ObjectMapper json = new ObjectMapper();
    String broken =
        "{\"uid\":\"outboxkit-x\",\"title\":\"x\",\"editable\":true,\"graphTooltip\":1,"
            + "\"schemaVersion\":39,\"time\":{\"from\":\"now-1h\",\"to\":\"now\"},\"tags\":[],"
            + "\"annotations\":{\"list\":[]},\"templating\":{\"list\":[]},\"panels\":[{\"id\":1,"
            + "\"type\":\"timeseries\",\"title\":\"t\",\"description\":\"d\","
            + "\"gridPos\":{\"h\":8,\"w\":30,\"x\":0,\"y\":0},"
            + "\"datasource\":{\"type\":\"prometheus\",\"uid\":\"my-prod-uid\"},"
            + "\"fieldConfig\":{\"defaults\":{},\"overrides\":[]},\"targets\":[{\"refId\":\"A\"}]}]}";
    Set<ValidationMessage> errors = schema.validate(json.readTree(broken));
    assertThat(errors.toString()).contains("gridPos.w", "datasource.uid", "expr");
  }

  @Test
  void panelsHaveUniqueIdsAndDoNotOverlap() throws Exception {
    for (Path file : Dashboards.files()) {
      Set<Integer> ids = new HashSet<>();
      List<int[]> boxes = new ArrayList<>();
      for (JsonNode panel : Dashboards.read(file).path("panels")) {
        assertThat(ids.add(panel.path("id").asInt()))
            .as("%s panel id %s", file, panel.path("id"))
            .isTrue();
        JsonNode g = panel.path("gridPos");
        int[] box = {
          g.path("x").asInt(), g.path("y").asInt(), g.path("w").asInt(), g.path("h").asInt()
        };
        assertThat(box[0] + box[2])
            .as("%s '%s' fits 24 columns", file, panel.path("title"))
            .isLessThanOrEqualTo(24);
        for (int[] other : boxes) {
          boolean overlap =
              box[0] < other[0] + other[2]
                  && other[0] < box[0] + box[2]
                  && box[1] < other[1] + other[3]
                  && other[1] < box[1] + box[3];
          assertThat(overlap)
              .as("%s '%s' overlaps another panel", file, panel.path("title"))
              .isFalse();
        }
        boxes.add(box);
      }
    }
  }

  @Test
  void dashboardsFilterByClusterNamespaceApplicationTableAndInstance() throws Exception {
    Map<String, List<String>> variables = new LinkedHashMap<>();
    for (Path file : Dashboards.files()) {
      List<String> names = new ArrayList<>();
      Dashboards.read(file)
          .path("templating")
          .path("list")
          .forEach(v -> names.add(v.path("name").asString()));
      variables.put(file.getFileName().toString(), names);
    }
    assertThat(variables.get("outbox-relay.json"))
        .contains("datasource", "cluster", "namespace", "application", "table", "instance");
    assertThat(variables.get("outbox-idempotency.json"))
        .contains("datasource", "cluster", "namespace", "application", "instance", "consumer");
    // Two releases in two namespaces (or clusters) never add up in one panel.
    Dashboards.targets()
        .forEach(
            (where, expr) ->
                assertThat(expr)
                    .as(where)
                    .contains(
                        "cluster=~\"$cluster\"",
                        "namespace=~\"$namespace\"",
                        "application=~\"$application\"")
                    .doesNotContain("by (application")
                    .doesNotContain("by (le, application")
                    .doesNotContain("[30d]"));
    Dashboards.variableSelectors()
        .forEach(
            (where, selector) -> {
              if (!where.endsWith("$cluster")) {
                assertThat(selector).as(where).contains("cluster=~\"$cluster\"");
              }
              if (!where.endsWith("$cluster") && !where.endsWith("$namespace")) {
                assertThat(selector).as(where).contains("namespace=~\"$namespace\"");
              }
            });
  }

  @Test
  void everyExpressionParses() throws Exception {
    Map<String, String> exprs = new LinkedHashMap<>();
    Dashboards.targets().forEach((where, expr) -> exprs.put(where, Dashboards.forPromtool(expr)));
    Dashboards.variableSelectors()
        .forEach((where, sel) -> exprs.put(where, Dashboards.forPromtool(sel)));
    assertThat(exprs).hasSizeGreaterThan(15);
    PromtoolExpressions.assertParse(exprs);
  }
}
