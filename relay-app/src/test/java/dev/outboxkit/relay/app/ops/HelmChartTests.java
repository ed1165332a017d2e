package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The Helm chart ({@code deploy/helm/outbox-relay}), linted strictly and rendered with Helm 3
 * (helm-java), and its manifests checked against the app itself: probe paths and ports are the ones
 * the app serves, every environment variable binds to a real property, secrets are referenced
 * (never inlined), and the PrometheusRule carries the very rules file the promtool tests check.
 */
class HelmChartTests {

  static final Path CHART = DeployFiles.root().resolve("deploy/helm/outbox-relay");
  static final Map<String, String> REQUIRED =
      Map.of(
          "database.url", "jdbc:postgresql://db:5432/payments",
          "database.existingSecret", "relay-db",
          "kafka.bootstrapServers", "kafka:9092",
          "operator.existingSecret", "relay-operator");

  /** CDC mode with its one further required value: the replication user's Secret. */
  static final Map<String, String> CDC =
      Map.of("mode", "cdc", "cdc.replication.existingSecret", "relay-replication");

  private static Yaml yaml() {
    return new Yaml(new SafeConstructor(new LoaderOptions()));
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> render(Map<String, String> values) {
    TemplateCommand template = new Helm(CHART).template().withName("payments");
    REQUIRED.forEach(template::set);
    values.forEach(template::set);
    List<Map<String, Object>> docs = new ArrayList<>();
    for (Object doc : yaml().loadAll(template.call())) {
      if (doc != null) {
        docs.add((Map<String, Object>) doc);
      }
    }
    return docs;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> kind(List<Map<String, Object>> docs, String kind) {
    return docs.stream()
        .filter(d -> kind.equals(d.get("kind")))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " rendered"));
  }

  @SuppressWarnings("unchecked")
  static Object at(Object node, String... path) {
    Object current = node;
    for (String key : path) {
      current =
          current instanceof List<?> list
              ? list.get(Integer.parseInt(key))
              : ((Map<String, Object>) current).get(key);
    }
    return current;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> container(List<Map<String, Object>> docs) {
    return (Map<String, Object>)
        at(kind(docs, "Deployment"), "spec", "template", "spec", "containers", "0");
  }

  @SuppressWarnings("unchecked")
  static Map<String, Map<String, Object>> env(Map<String, Object> container) {
    return ((List<Map<String, Object>>) container.get("env"))
        .stream().collect(Collectors.toMap(e -> (String) e.get("name"), e -> e));
  }

  @Test
  void lintsStrictly(@TempDir Path tmp) throws IOException {
    // helm lint reads only the chart's own values.yaml: lint a copy whose required values are
    // filled in.
    Path copy = tmp.resolve("outbox-relay");
    try (Stream<Path> files = Files.walk(CHART)) {
      for (Path file : files.toList()) {
        Path target = copy.resolve(CHART.relativize(file).toString());
        if (Files.isDirectory(file)) {
          Files.createDirectories(target);
        } else {
          Files.copy(file, target); // follows the rules-file link
        }
      }
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> values =
        (Map<String, Object>) yaml().load(Files.readString(CHART.resolve("values.yaml")));
    REQUIRED.forEach(
        (key, value) -> {
          String[] parts = key.split("\\.");
          @SuppressWarnings("unchecked")
          Map<String, Object> section = (Map<String, Object>) values.get(parts[0]);
          section.put(parts[1], value);
        });
    DumperOptions options = new DumperOptions();
    options.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    Files.writeString(
        copy.resolve("values.yaml"), new Yaml(options).dump(values), StandardCharsets.UTF_8);
    LintResult lint = new Helm(copy).lint().strict().call();
    assertThat(lint.isFailed()).as("%s", lint.getMessages()).isFalse();
  }

  /**
   * Issue 20: CDC mode runs as two database users, each from its own Secret: Debezium's replication
   * user ({@code outbox.relay.cdc.username/password}) and the relay's DML user (its DataSource).
   * Before, the chart passed one user for both, which with the shipped roles could not run the
   * relay.
   */
  @Test
  void cdcModeTakesTheReplicationUserFromASecretOfItsOwn() {
    assertThatThrownBy(() -> render(Map.of("mode", "cdc")))
        .hasMessageContaining("cdc.replication.existingSecret is required with mode=cdc");
    Map<String, Map<String, Object>> env =
        env(
            container(
                render(
                    Map.of(
                        "mode", "cdc",
                        "cdc.replication.existingSecret", "relay-replication",
                        "cdc.replication.usernameKey", "user",
                        "cdc.replication.passwordKey", "pass"))));
    assertThat(at(env.get("OUTBOX_RELAY_CDC_USERNAME"), "valueFrom", "secretKeyRef"))
        .isEqualTo(Map.of("name", "relay-replication", "key", "user"));
    assertThat(at(env.get("OUTBOX_RELAY_CDC_PASSWORD"), "valueFrom", "secretKeyRef"))
        .isEqualTo(Map.of("name", "relay-replication", "key", "pass"));
    assertThat(at(env.get("SPRING_DATASOURCE_USERNAME"), "valueFrom", "secretKeyRef", "name"))
        .isEqualTo("relay-db");
    assertThat(env.get("OUTBOX_RELAY_CDC_PASSWORD")).doesNotContainKey("value");
  }

  @Test
  void refusesAnUnknownModeAndMissingRequiredValues() {
    assertThatThrownBy(() -> render(Map.of("mode", "fast")))
        .hasMessageContaining("mode must be polling or cdc");
    assertThatThrownBy(() -> new Helm(CHART).template().withName("x").call())
        .hasMessageContaining("is required");
  }

  /** Issue 20, finding 4: TLS on the management port from a keystore Secret, probes over HTTPS. */
  @Test
  void managementTlsMountsTheKeystoreSecretAndProbesAndScrapesUseHttps() {
    List<Map<String, Object>> docs =
        render(
            Map.of(
                "management.tls.enabled", "true",
                "management.tls.existingSecret", "relay-management-tls",
                "management.oidc.issuerUri", "https://login.example.com/realms/payments"));
    Map<String, Object> container = container(docs);
    Map<String, Map<String, Object>> env = env(container);
    assertThat(at(env.get("MANAGEMENT_SERVER_SSL_ENABLED"), "value")).isEqualTo("true");
    assertThat(at(env.get("MANAGEMENT_SERVER_SSL_KEY_STORE"), "value"))
        .isEqualTo("file:/etc/outbox-relay/tls/keystore.p12");
    assertThat(
            at(
                env.get("MANAGEMENT_SERVER_SSL_KEY_STORE_PASSWORD"),
                "valueFrom",
                "secretKeyRef",
                "name"))
        .isEqualTo("relay-management-tls");
    assertThat(at(env.get("SPRING_SECURITY_OAUTH2_RESOURCESERVER_JWT_ISSUER_URI"), "value"))
        .isEqualTo("https://login.example.com/realms/payments");
    for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
      assertThat(at(container, probe, "httpGet", "scheme")).as(probe).isEqualTo("HTTPS");
    }
    assertThat(
            at(
                kind(docs, "Deployment"),
                "spec",
                "template",
                "spec",
                "volumes",
                "1",
                "secret",
                "secretName"))
        .isEqualTo("relay-management-tls");
    assertThat(at(kind(docs, "ServiceMonitor"), "spec", "endpoints", "0", "scheme"))
        .isEqualTo("https");
    // Off by default: plain HTTP probes, no keystore.
    Map<String, Object> plain = container(render(Map.of()));
    assertThat(env(plain)).doesNotContainKey("MANAGEMENT_SERVER_SSL_ENABLED");
    assertThatThrownBy(() -> render(Map.of("management.tls.enabled", "true")))
        .hasMessageContaining("management.tls.existingSecret is required");
  }

  @Test
  @SuppressWarnings("unchecked")
  void probesHitTheAppsProbeGroupsOnItsManagementPort() throws IOException {
    Map<String, Object> container = container(render(Map.of()));
    String properties =
        Files.readString(
            DeployFiles.root().resolve("relay-app/src/main/resources/application.properties"));
    assertThat(properties)
        .contains("management.server.port=${MANAGEMENT_PORT:")
        .contains("server.port=${PORT:")
        .contains("management.endpoint.health.probes.enabled=true");
    List<Map<String, Object>> ports = (List<Map<String, Object>>) container.get("ports");
    Map<String, Object> management =
        ports.stream().filter(p -> "management".equals(p.get("name"))).findFirst().orElseThrow();
    assertThat(at(env(container).get("MANAGEMENT_PORT"), "value"))
        .isEqualTo(String.valueOf(management.get("containerPort")));
    assertThat(at(container, "livenessProbe", "httpGet", "path"))
        .isEqualTo("/actuator/health/liveness");
    assertThat(at(container, "startupProbe", "httpGet", "path"))
        .isEqualTo("/actuator/health/liveness");
    assertThat(at(container, "readinessProbe", "httpGet", "path"))
        .isEqualTo("/actuator/health/readiness");
    for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
      assertThat(at(container, probe, "httpGet", "port")).as(probe).isEqualTo("management");
    }
  }

  @Test
  void everyEnvironmentVariableBindsToARealPropertyAndSecretsAreReferenced() throws Exception {
    Set<String> envForms = ConfigurationPropertiesTests.environmentVariableForms();
    for (Map<String, String> mode : List.of(Map.of("mode", "polling"), CDC)) {
      Map<String, Map<String, Object>> env = env(container(render(mode)));
      for (String name : env.keySet()) {
        if (!Set.of("PORT", "MANAGEMENT_PORT", "JAVA_TOOL_OPTIONS").contains(name)) {
          assertThat(envForms).as("%s binds to a property", name).contains(name);
        }
      }
      assertThat(at(env.get("SPRING_DATASOURCE_USERNAME"), "valueFrom", "secretKeyRef", "name"))
          .isEqualTo("relay-db");
      assertThat(at(env.get("SPRING_DATASOURCE_USERNAME"), "valueFrom", "secretKeyRef", "key"))
          .isEqualTo("username");
      assertThat(at(env.get("SPRING_DATASOURCE_PASSWORD"), "valueFrom", "secretKeyRef", "key"))
          .isEqualTo("password");
      assertThat(at(env.get("SPRING_SECURITY_USER_NAME"), "valueFrom", "secretKeyRef", "name"))
          .isEqualTo("relay-operator");
      assertThat(at(env.get("SPRING_SECURITY_USER_PASSWORD"), "valueFrom", "secretKeyRef", "key"))
          .isEqualTo("password");
      assertThat(env.get("SPRING_DATASOURCE_PASSWORD")).doesNotContainKey("value");
      assertThat(at(env.get("SPRING_SECURITY_USER_ROLES"), "value"))
          .isEqualTo(at(env.get("OUTBOX_RELAY_MANAGEMENT_OPERATOR_ROLE"), "value"));
      assertThat(at(env.get("OUTBOX_RELAY_MODE"), "value")).isEqualTo(mode.get("mode"));
      assertThat(env.containsKey("OUTBOX_RELAY_CDC_NAME"))
          .isEqualTo(mode.get("mode").equals("cdc"));
      assertThat(env.containsKey("OUTBOX_RELAY_CDC_USERNAME"))
          .isEqualTo(mode.get("mode").equals("cdc"));
    }
    assertThat(render(Map.of()).stream().map(d -> d.get("kind"))).doesNotContain("Secret");
  }

  @Test
  @SuppressWarnings("unchecked")
  void monitoringUsesTheShippedRulesAndTheJobTheyExpect() throws IOException {
    List<Map<String, Object>> docs = render(Map.of());
    Object rules = yaml().load(Files.readString(DeployFiles.rules()));
    assertThat(kind(docs, "PrometheusRule").get("spec")).isEqualTo(rules);
    Map<String, Object> monitor = kind(docs, "ServiceMonitor");
    assertThat(at(monitor, "spec", "endpoints", "0", "port")).isEqualTo("management");
    assertThat(at(monitor, "spec", "endpoints", "0", "path")).isEqualTo("/actuator/prometheus");
    String jobLabel = (String) at(monitor, "spec", "jobLabel");
    String job = (String) at(kind(docs, "Service"), "metadata", "labels", jobLabel);
    // One job per release, named like the application tag, and selected by the shipped rules.
    assertThat(job).isEqualTo("payments-outbox-relay");
    assertThat(at(env(container(docs)).get("SPRING_APPLICATION_NAME"), "value")).isEqualTo(job);
    String rulesText = Files.readString(DeployFiles.rules());
    assertThat(rulesText).contains("job=~\".*outbox-relay.*\"").doesNotContain("job=\"");
    assertThat(job).matches(".*outbox-relay.*");
    Map<String, Object> podLabels =
        (Map<String, Object>)
            at(kind(docs, "Deployment"), "spec", "template", "metadata", "labels");
    assertThat(podLabels)
        .containsAllEntriesOf(
            (Map<String, Object>)
                at(kind(docs, "PodDisruptionBudget"), "spec", "selector", "matchLabels"));
    assertThat(podLabels)
        .containsAllEntriesOf((Map<String, Object>) at(kind(docs, "Service"), "spec", "selector"));
    Map<String, Object> policy = kind(docs, "NetworkPolicy");
    assertThat(at(policy, "spec", "ingress", "0", "ports"))
        .isEqualTo(List.of(Map.of("port", "management", "protocol", "TCP")));
    assertThat(((List<?>) at(policy, "spec", "ingress"))).hasSize(1);
  }

  @Test
  void readinessLeavesOutTheRelaysHealthSoABrokerOutageNeverTakesEveryPodOutAtOnce()
      throws IOException {
    // Lag and failures are alerted on (OutboxLagHigh, OutboxRelayCircuitOpen): with the relay's
    // health in readiness, a Kafka outage made every pod unready at once, and with the PDB and
    // maxUnavailable 0 node drains and rollouts waited forever.
    String properties =
        Files.readString(
            DeployFiles.root().resolve("relay-app/src/main/resources/application.properties"));
    assertThat(properties)
        .containsPattern("(?m)^management\\.endpoint\\.health\\.group\\.readiness\\.include=")
        .doesNotContainPattern(
            "(?m)^management\\.endpoint\\.health\\.group\\.readiness\\.include=.*outboxRelay")
        .doesNotContainPattern(
            "(?m)^management\\.endpoint\\.health\\.group\\.liveness\\.include=.*outboxRelay");
    assertThat(Files.readString(DeployFiles.rules()))
        .contains("alert: OutboxLagHigh", "alert: OutboxRelayCircuitOpen");
  }

  @Test
  void unhealthyPodsMayAlwaysBeEvicted() {
    for (Map<String, String> values : List.of(Map.of("mode", "polling"), CDC)) {
      String mode = values.get("mode");
      Map<String, Object> pdb = kind(render(values), "PodDisruptionBudget");
      assertThat(at(pdb, "spec", "unhealthyPodEvictionPolicy")).as(mode).isEqualTo("AlwaysAllow");
      assertThat(at(pdb, "spec", "minAvailable")).as(mode).isEqualTo(1);
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  void cdcActiveAndStandbyNeverShareANodeAndPollingInstancesSpreadWhenTheyCan() {
    Map<String, Object> selector =
        (Map<String, Object>)
            at(kind(render(CDC), "Deployment"), "spec", "selector", "matchLabels");
    Map<String, Object> cdc =
        (Map<String, Object>)
            at(
                kind(render(CDC), "Deployment"),
                "spec",
                "template",
                "spec",
                "affinity",
                "podAntiAffinity");
    assertThat(cdc).containsOnlyKeys("requiredDuringSchedulingIgnoredDuringExecution");
    assertThat(at(cdc, "requiredDuringSchedulingIgnoredDuringExecution", "0", "topologyKey"))
        .isEqualTo("kubernetes.io/hostname");
    assertThat(
            at(
                cdc,
                "requiredDuringSchedulingIgnoredDuringExecution",
                "0",
                "labelSelector",
                "matchLabels"))
        .isEqualTo(selector);

    Map<String, Object> polling =
        (Map<String, Object>)
            at(
                kind(render(Map.of()), "Deployment"),
                "spec",
                "template",
                "spec",
                "affinity",
                "podAntiAffinity");
    assertThat(polling).containsOnlyKeys("preferredDuringSchedulingIgnoredDuringExecution");
    assertThat(
            at(
                polling,
                "preferredDuringSchedulingIgnoredDuringExecution",
                "0",
                "podAffinityTerm",
                "topologyKey"))
        .isEqualTo("kubernetes.io/hostname");

    Map<String, Object> none =
        (Map<String, Object>)
            at(kind(render(Map.of("podAntiAffinity", "none")), "Deployment"), "spec", "template");
    assertThat((Map<String, Object>) none.get("spec")).doesNotContainKey("affinity");
    assertThatThrownBy(() -> render(Map.of("podAntiAffinity", "sometimes")))
        .hasMessageContaining("podAntiAffinity must be required, preferred, none or empty");
  }

  @Test
  void eachReleaseHasItsOwnApplicationNameAndJob() {
    List<Map<String, Object>> payments = render(Map.of());
    List<Map<String, Object>> orders =
        render(Map.of("applicationName", "orders-outbox-relay", "outbox.tableName", "orders_out"));
    for (List<Map<String, Object>> docs : List.of(payments, orders)) {
      String jobLabel = (String) at(kind(docs, "ServiceMonitor"), "spec", "jobLabel");
      assertThat(at(kind(docs, "Service"), "metadata", "labels", jobLabel))
          .isEqualTo(at(env(container(docs)).get("SPRING_APPLICATION_NAME"), "value"));
    }
    assertThat(at(env(container(payments)).get("SPRING_APPLICATION_NAME"), "value"))
        .isEqualTo("payments-outbox-relay");
    assertThat(at(env(container(orders)).get("SPRING_APPLICATION_NAME"), "value"))
        .isEqualTo("orders-outbox-relay");
    // A name the shipped rules' job selector would miss is refused.
    assertThatThrownBy(() -> render(Map.of("applicationName", "orders")))
        .hasMessageContaining("applicationName must contain outbox-relay");
  }

  @Test
  @SuppressWarnings("unchecked")
  void theNetworkPolicyLetsOutOnlyDnsTheDatabaseAndKafkaAndTheirPortsAndPeersAreValues() {
    Map<String, Object> policy = kind(render(Map.of()), "NetworkPolicy");
    assertThat(at(policy, "spec", "policyTypes")).isEqualTo(List.of("Ingress", "Egress"));
    assertThat(at(policy, "spec", "egress"))
        .isEqualTo(
            List.of(
                Map.of(
                    "ports",
                    List.of(
                        Map.of("port", 53, "protocol", "UDP"),
                        Map.of("port", 53, "protocol", "TCP"))),
                Map.of("ports", List.of(Map.of("port", 5432, "protocol", "TCP"))),
                Map.of("ports", List.of(Map.of("port", 9092, "protocol", "TCP")))));

    Map<String, Object> narrowed =
        kind(
            render(
                Map.of(
                    "networkPolicy.egress.database.ports[0]", "3306",
                    "networkPolicy.egress.database.to[0].ipBlock.cidr", "10.1.0.0/16",
                    "networkPolicy.egress.kafka.ports[0]", "9093",
                    "networkPolicy.egress.kafka.to[0].namespaceSelector.matchLabels.team", "kafka",
                    "networkPolicy.egress.dns.to[0].namespaceSelector.matchLabels.name",
                        "kube-system")),
            "NetworkPolicy");
    List<Map<String, Object>> egress = (List<Map<String, Object>>) at(narrowed, "spec", "egress");
    assertThat(egress).hasSize(3);
    assertThat(at(egress, "0", "to"))
        .isEqualTo(
            List.of(
                Map.of("namespaceSelector", Map.of("matchLabels", Map.of("name", "kube-system")))));
    assertThat(egress.get(1))
        .isEqualTo(
            Map.of(
                "ports", List.of(Map.of("port", 3306, "protocol", "TCP")),
                "to", List.of(Map.of("ipBlock", Map.of("cidr", "10.1.0.0/16")))));
    assertThat(egress.get(2))
        .isEqualTo(
            Map.of(
                "ports", List.of(Map.of("port", 9093, "protocol", "TCP")),
                "to",
                    List.of(
                        Map.of(
                            "namespaceSelector", Map.of("matchLabels", Map.of("team", "kafka"))))));
    // Ingress stays the management port only, whatever egress says.
    assertThat(at(narrowed, "spec", "ingress", "0", "ports"))
        .isEqualTo(List.of(Map.of("port", "management", "protocol", "TCP")));

    Map<String, Object> open =
        kind(render(Map.of("networkPolicy.egress.enabled", "false")), "NetworkPolicy");
    assertThat(at(open, "spec", "policyTypes")).isEqualTo(List.of("Ingress"));
    assertThat((Map<String, Object>) open.get("spec")).doesNotContainKey("egress");
  }

  @Test
  @SuppressWarnings("unchecked")
  void thePodRunsAsItsOwnServiceAccountWithoutAToken() {
    List<Map<String, Object>> docs = render(Map.of());
    Map<String, Object> account = kind(docs, "ServiceAccount");
    Map<String, Object> pod =
        (Map<String, Object>) at(kind(docs, "Deployment"), "spec", "template", "spec");
    assertThat(pod.get("serviceAccountName")).isEqualTo(at(account, "metadata", "name"));
    assertThat(at(account, "metadata", "name")).isEqualTo("payments-outbox-relay");
    assertThat(account.get("automountServiceAccountToken")).isEqualTo(false);
    assertThat(pod.get("automountServiceAccountToken")).isEqualTo(false);

    List<Map<String, Object>> existing =
        render(Map.of("serviceAccount.create", "false", "serviceAccount.name", "relay-identity"));
    assertThat(existing.stream().map(d -> d.get("kind"))).doesNotContain("ServiceAccount");
    assertThat(at(kind(existing, "Deployment"), "spec", "template", "spec", "serviceAccountName"))
        .isEqualTo("relay-identity");
  }
}
