package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The plain kustomize base ({@code deploy/kustomize/base}) and its polling and CDC overlays: read
 * as YAML (always), checked against the app (probe paths and ports it serves, environment variables
 * that bind to real properties, Secrets only referenced) and against the Helm chart rendered with
 * its default values (same ports, probes, security contexts, resources, environment, Service and
 * NetworkPolicy); and built with {@code kubectl kustomize} when a kubectl is there (Debian package
 * {@code kubernetes-client}, kustomize v2.0.3; newer kubectl builds work too), skipped otherwise
 * with a message naming the package.
 */
class KustomizeTests {

  static final Path KUSTOMIZE = DeployFiles.root().resolve("deploy/kustomize");
  static final Path BASE = KUSTOMIZE.resolve("base");

  private static Yaml yaml() {
    return new Yaml(new SafeConstructor(new LoaderOptions()));
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> load(Path file) throws Exception {
    return (Map<String, Object>) yaml().load(Files.readString(file, StandardCharsets.UTF_8));
  }

  /** The base's resources, as listed in its kustomization.yaml. */
  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> baseResources() throws Exception {
    List<Map<String, Object>> docs = new ArrayList<>();
    for (String file : (List<String>) load(BASE.resolve("kustomization.yaml")).get("resources")) {
      docs.add(load(BASE.resolve(file)));
    }
    return docs;
  }

  /** The literals of a kustomization's configMapGenerator entry outbox-relay-env. */
  @SuppressWarnings("unchecked")
  static Map<String, String> envLiterals(Path dir) throws Exception {
    Map<String, String> env = new LinkedHashMap<>();
    for (Map<String, Object> generator :
        (List<Map<String, Object>>)
            load(dir.resolve("kustomization.yaml")).get("configMapGenerator")) {
      assertThat(generator.get("name")).isEqualTo("outbox-relay-env");
      for (String literal : (List<String>) generator.get("literals")) {
        int eq = literal.indexOf('=');
        env.put(literal.substring(0, eq), literal.substring(eq + 1));
      }
    }
    return env;
  }

  /**
   * Environment variable name to value (for plain values) or to the whole entry (for valueFrom).
   */
  @SuppressWarnings("unchecked")
  static Map<String, Object> containerEnv(Map<String, Object> container, Map<String, String> cm) {
    Map<String, Object> env = new LinkedHashMap<>();
    for (Map<String, Object> e : (List<Map<String, Object>>) container.get("env")) {
      env.put((String) e.get("name"), e.containsKey("value") ? e.get("value") : e.get("valueFrom"));
    }
    if (container.containsKey("envFrom")) {
      env.putAll(cm);
    }
    return env;
  }

  @Test
  void theBaseHasTheWorkloadAndItsGuardsAndNoSecret() throws Exception {
    List<Map<String, Object>> docs = baseResources();
    assertThat(docs.stream().map(d -> d.get("kind")))
        .containsExactlyInAnyOrder(
            "ServiceAccount", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy")
        .doesNotContain("Secret");
    Map<String, Object> pod = pod(docs);
    assertThat(pod.get("serviceAccountName"))
        .isEqualTo(
            HelmChartTests.at(HelmChartTests.kind(docs, "ServiceAccount"), "metadata", "name"));
    assertThat(pod.get("automountServiceAccountToken")).isEqualTo(false);
    @SuppressWarnings("unchecked")
    Map<String, Object> podLabels =
        (Map<String, Object>)
            HelmChartTests.at(
                HelmChartTests.kind(docs, "Deployment"), "spec", "template", "metadata", "labels");
    for (String kind : List.of("PodDisruptionBudget", "NetworkPolicy")) {
      assertThat(podLabels)
          .containsAllEntriesOf(
              selector(HelmChartTests.at(HelmChartTests.kind(docs, kind), "spec")));
    }
    assertThat(podLabels)
        .containsAllEntriesOf(
            selector(HelmChartTests.at(HelmChartTests.kind(docs, "Service"), "spec")));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> selector(Object spec) {
    Map<String, Object> s = (Map<String, Object>) spec;
    Object selector = s.containsKey("podSelector") ? s.get("podSelector") : s.get("selector");
    Map<String, Object> map = (Map<String, Object>) selector;
    return map.containsKey("matchLabels") ? (Map<String, Object>) map.get("matchLabels") : map;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> pod(List<Map<String, Object>> docs) {
    return (Map<String, Object>)
        HelmChartTests.at(HelmChartTests.kind(docs, "Deployment"), "spec", "template", "spec");
  }

  @Test
  void probesPortsAndEnvironmentAreTheAppsAndSecretsAreReferenced() throws Exception {
    Map<String, Object> container = HelmChartTests.container(baseResources());
    Map<String, String> cm = envLiterals(BASE);
    Map<String, Object> env = containerEnv(container, cm);
    Set<String> envForms = ConfigurationPropertiesTests.environmentVariableForms();
    for (String name : env.keySet()) {
      if (!Set.of("PORT", "MANAGEMENT_PORT", "JAVA_TOOL_OPTIONS").contains(name)) {
        assertThat(envForms).as("%s binds to a property", name).contains(name);
      }
    }
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> ports = (List<Map<String, Object>>) container.get("ports");
    assertThat(ports)
        .containsExactly(
            Map.of("name", "http", "containerPort", Integer.parseInt(cm.get("PORT"))),
            Map.of(
                "name",
                "management",
                "containerPort",
                Integer.parseInt(cm.get("MANAGEMENT_PORT"))));
    assertThat(HelmChartTests.at(container, "readinessProbe", "httpGet", "path"))
        .isEqualTo("/actuator/health/readiness");
    for (String probe : List.of("livenessProbe", "startupProbe")) {
      assertThat(HelmChartTests.at(container, probe, "httpGet", "path"))
          .isEqualTo("/actuator/health/liveness");
    }
    for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
      assertThat(HelmChartTests.at(container, probe, "httpGet", "port"))
          .as(probe)
          .isEqualTo("management");
    }
    for (String name :
        List.of(
            "SPRING_DATASOURCE_USERNAME",
            "SPRING_DATASOURCE_PASSWORD",
            "SPRING_SECURITY_USER_NAME",
            "SPRING_SECURITY_USER_PASSWORD")) {
      assertThat(HelmChartTests.at(env.get(name), "secretKeyRef", "name"))
          .as(name)
          .isEqualTo(
              name.startsWith("SPRING_DATASOURCE") ? "outbox-relay-db" : "outbox-relay-operator");
      assertThat(HelmChartTests.at(env.get(name), "secretKeyRef", "key"))
          .as(name)
          .isEqualTo(name.endsWith("PASSWORD") ? "password" : "username");
      assertThat(cm).as("no credential in the ConfigMap").doesNotContainKey(name);
    }
    assertThat(cm.get("SPRING_SECURITY_USER_ROLES"))
        .isEqualTo(cm.get("OUTBOX_RELAY_MANAGEMENT_OPERATOR_ROLE"));
  }

  @Test
  void onlyTheManagementPortIsReachableAndOnlyDnsDatabaseAndKafkaAreReachedOut() throws Exception {
    List<Map<String, Object>> docs = baseResources();
    Map<String, Object> policy = HelmChartTests.kind(docs, "NetworkPolicy");
    assertThat(HelmChartTests.at(policy, "spec", "policyTypes"))
        .isEqualTo(List.of("Ingress", "Egress"));
    assertThat((List<?>) HelmChartTests.at(policy, "spec", "ingress")).hasSize(1);
    assertThat(HelmChartTests.at(policy, "spec", "ingress", "0", "ports"))
        .isEqualTo(List.of(Map.of("port", "management", "protocol", "TCP")));
    assertThat(HelmChartTests.at(HelmChartTests.kind(docs, "Service"), "spec", "ports"))
        .isEqualTo(List.of(Map.of("name", "management", "port", 8081, "targetPort", "management")));
    Set<Object> egressPorts = new LinkedHashSet<>();
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> egress =
        (List<Map<String, Object>>) HelmChartTests.at(policy, "spec", "egress");
    for (Map<String, Object> rule : egress) {
      ((List<?>) rule.get("ports")).forEach(p -> egressPorts.add(HelmChartTests.at(p, "port")));
    }
    assertThat(egressPorts).containsExactly(53, 5432, 9092);
  }

  @Test
  @SuppressWarnings("unchecked")
  void theBaseAndTheHelmChartWithDefaultValuesDeployTheSameRelay() throws Exception {
    List<Map<String, Object>> kustomize = baseResources();
    List<Map<String, Object>> helm = HelmChartTests.render(Map.of());
    Map<String, Object> k = HelmChartTests.container(kustomize);
    Map<String, Object> h = HelmChartTests.container(helm);
    for (String field :
        List.of(
            "ports",
            "startupProbe",
            "livenessProbe",
            "readinessProbe",
            "securityContext",
            "resources",
            "volumeMounts",
            "imagePullPolicy")) {
      assertThat(k.get(field)).as(field).isEqualTo(h.get(field));
    }
    assertThat(k.get("image")).isEqualTo(h.get("image"));
    for (String field :
        List.of(
            "securityContext",
            "terminationGracePeriodSeconds",
            "automountServiceAccountToken",
            "volumes")) {
      assertThat(pod(kustomize).get(field)).as(field).isEqualTo(pod(helm).get(field));
    }
    assertThat(pod(kustomize).get("serviceAccountName")).isNotNull();
    assertThat(pod(helm).get("serviceAccountName")).isNotNull();
    assertThat(HelmChartTests.kind(kustomize, "ServiceAccount").get("automountServiceAccountToken"))
        .isEqualTo(HelmChartTests.kind(helm, "ServiceAccount").get("automountServiceAccountToken"));
    for (String field : List.of("replicas", "strategy")) {
      assertThat(HelmChartTests.at(HelmChartTests.kind(kustomize, "Deployment"), "spec", field))
          .as(field)
          .isEqualTo(HelmChartTests.at(HelmChartTests.kind(helm, "Deployment"), "spec", field));
    }

    // Same variables; the same values except the two the chart requires (placeholders here), and
    // the same Secret keys.
    Map<String, Object> kEnv = containerEnv(k, envLiterals(BASE));
    Map<String, Object> hEnv = containerEnv(h, Map.of());
    assertThat(kEnv.keySet()).containsExactlyInAnyOrderElementsOf(hEnv.keySet());
    for (String name : hEnv.keySet()) {
      // The chart names the application after the release (payments-outbox-relay); the base's
      // placeholder is outbox-relay.
      if (Set.of(
              "SPRING_DATASOURCE_URL",
              "OUTBOX_RELAY_KAFKA_BOOTSTRAP_SERVERS",
              "SPRING_APPLICATION_NAME")
          .contains(name)) {
        continue;
      }
      if (hEnv.get(name) instanceof Map<?, ?> from && from.containsKey("secretKeyRef")) {
        assertThat(HelmChartTests.at(kEnv.get(name), "secretKeyRef", "key"))
            .as(name)
            .isEqualTo(HelmChartTests.at(from, "secretKeyRef", "key"));
      } else {
        assertThat(kEnv.get(name)).as(name).isEqualTo(hEnv.get(name));
      }
    }

    assertThat(HelmChartTests.at(HelmChartTests.kind(kustomize, "Service"), "spec", "ports"))
        .isEqualTo(HelmChartTests.at(HelmChartTests.kind(helm, "Service"), "spec", "ports"));
    assertThat(
            HelmChartTests.at(
                HelmChartTests.kind(kustomize, "PodDisruptionBudget"), "spec", "minAvailable"))
        .isEqualTo(
            HelmChartTests.at(
                HelmChartTests.kind(helm, "PodDisruptionBudget"), "spec", "minAvailable"));
    Map<String, Object> kPolicy =
        (Map<String, Object>) HelmChartTests.kind(kustomize, "NetworkPolicy").get("spec");
    Map<String, Object> hPolicy =
        (Map<String, Object>) HelmChartTests.kind(helm, "NetworkPolicy").get("spec");
    for (String field : List.of("policyTypes", "ingress", "egress")) {
      assertThat(kPolicy.get(field)).as(field).isEqualTo(hPolicy.get(field));
    }
  }

  @Test
  void theOverlaysChooseTheModeAsTheChartDoes() throws Exception {
    Map<String, String> polling = new LinkedHashMap<>(envLiterals(BASE));
    polling.putAll(envLiterals(KUSTOMIZE.resolve("overlays/polling")));
    Map<String, String> cdc = new LinkedHashMap<>(envLiterals(BASE));
    cdc.putAll(envLiterals(KUSTOMIZE.resolve("overlays/cdc")));
    assertThat(polling)
        .containsEntry("OUTBOX_RELAY_MODE", "polling")
        .doesNotContainKey("OUTBOX_RELAY_CDC_NAME");
    Map<String, Object> chartCdc =
        containerEnv(HelmChartTests.container(HelmChartTests.render(HelmChartTests.CDC)), Map.of());
    assertThat(cdc)
        .containsEntry("OUTBOX_RELAY_MODE", "cdc")
        .containsEntry("OUTBOX_RELAY_CDC_NAME", (String) chartCdc.get("OUTBOX_RELAY_CDC_NAME"));
  }

  /**
   * Issue 20: the CDC overlay gives Debezium's replication user a Secret of its own, with the same
   * variables and keys as the chart; the relay's DML user stays the base's {@code outbox-relay-db}.
   */
  @Test
  @SuppressWarnings("unchecked")
  void theCdcOverlayTakesTheReplicationUserFromASecretOfItsOwn() throws Exception {
    Path overlay = KUSTOMIZE.resolve("overlays/cdc");
    assertThat(
            (List<String>) load(overlay.resolve("kustomization.yaml")).get("patchesStrategicMerge"))
        .contains("replication-user.yaml");
    Map<String, Object> patch =
        (Map<String, Object>)
            HelmChartTests.at(
                load(overlay.resolve("replication-user.yaml")),
                "spec",
                "template",
                "spec",
                "containers",
                "0");
    Map<String, Object> env = containerEnv(patch, Map.of());
    Map<String, Object> chart =
        containerEnv(HelmChartTests.container(HelmChartTests.render(HelmChartTests.CDC)), Map.of());
    for (String name : List.of("OUTBOX_RELAY_CDC_USERNAME", "OUTBOX_RELAY_CDC_PASSWORD")) {
      assertThat(HelmChartTests.at(env.get(name), "secretKeyRef", "name"))
          .as(name)
          .isEqualTo("outbox-relay-cdc-replication");
      assertThat(HelmChartTests.at(env.get(name), "secretKeyRef", "key"))
          .as(name)
          .isEqualTo(HelmChartTests.at(chart.get(name), "secretKeyRef", "key"));
    }
    assertThat(env).doesNotContainKeys("SPRING_DATASOURCE_USERNAME", "SPRING_DATASOURCE_PASSWORD");
  }

  // ---- built with kubectl kustomize ----

  static Path kubectl() {
    String configured = System.getenv("KUBECTL");
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured);
    }
    for (String dir :
        System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
      Path candidate = Path.of(dir, "kubectl");
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return Path.of("kubectl");
  }

  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> build(Path dir) throws Exception {
    Assumptions.assumeTrue(
        Files.isExecutable(kubectl()),
        "kubectl not found: install the Debian package 'kubernetes-client' (apt-get install"
            + " kubernetes-client) or set KUBECTL; .ci/run installs it");
    Process process =
        new ProcessBuilder(kubectl().toString(), "kustomize", dir.toString())
            .redirectError(ProcessBuilder.Redirect.DISCARD) // deprecation warnings of kustomize v5
            .start();
    process.getOutputStream().close();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("kubectl kustomize finished").isTrue();
    assertThat(process.exitValue()).as("kubectl kustomize %s:%n%s", dir, output).isZero();
    List<Map<String, Object>> docs = new ArrayList<>();
    for (Object doc : yaml().loadAll(output)) {
      if (doc != null) {
        docs.add((Map<String, Object>) doc);
      }
    }
    return docs;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> builtEnv(List<Map<String, Object>> docs) {
    Map<String, Object> container = HelmChartTests.container(docs);
    Map<String, Object> configMap = HelmChartTests.kind(docs, "ConfigMap");
    String name = (String) HelmChartTests.at(configMap, "metadata", "name");
    assertThat(name).as("hashed name").startsWith("outbox-relay-env-");
    assertThat(HelmChartTests.at(container, "envFrom", "0", "configMapRef", "name"))
        .isEqualTo(name);
    Map<String, String> data = new LinkedHashMap<>();
    ((Map<String, Object>) configMap.get("data")).forEach((k, v) -> data.put(k, String.valueOf(v)));
    return containerEnv(container, data);
  }

  @Test
  void kubectlBuildsTheBaseAsReadAndTheOverlaysWithTheirMode() throws Exception {
    List<Map<String, Object>> base = build(BASE);
    assertThat(base.stream().map(d -> d.get("kind")))
        .containsExactlyInAnyOrder(
            "ConfigMap",
            "ServiceAccount",
            "Deployment",
            "Service",
            "PodDisruptionBudget",
            "NetworkPolicy");
    for (Map<String, Object> raw : baseResources()) {
      Map<String, Object> built =
          base.stream()
              .filter(d -> d.get("kind").equals(raw.get("kind")))
              .findFirst()
              .orElseThrow();
      if (!"Deployment".equals(raw.get("kind"))) {
        assertThat(built).as("%s as written", raw.get("kind")).isEqualTo(raw);
      }
    }
    Map<String, Object> baseEnv = builtEnv(base);
    Map<String, Object> expected =
        containerEnv(HelmChartTests.container(baseResources()), envLiterals(BASE));
    assertThat(baseEnv).isEqualTo(expected);

    List<Map<String, Object>> polling = build(KUSTOMIZE.resolve("overlays/polling"));
    assertThat(builtEnv(polling)).containsEntry("OUTBOX_RELAY_MODE", "polling");
    assertThat(HelmChartTests.at(HelmChartTests.kind(polling, "Deployment"), "spec", "replicas"))
        .isEqualTo(3);
    List<Map<String, Object>> cdc = build(KUSTOMIZE.resolve("overlays/cdc"));
    Map<String, Object> cdcEnv = builtEnv(cdc);
    assertThat(cdcEnv)
        .containsEntry("OUTBOX_RELAY_MODE", "cdc")
        .containsEntry("OUTBOX_RELAY_CDC_NAME", "outboxkit")
        .containsEntry("SPRING_DATASOURCE_URL", baseEnv.get("SPRING_DATASOURCE_URL"));
    // Two users: the base's DML user and, merged in by the overlay, the replication user.
    assertThat(HelmChartTests.at(cdcEnv.get("SPRING_DATASOURCE_USERNAME"), "secretKeyRef", "name"))
        .isEqualTo("outbox-relay-db");
    assertThat(HelmChartTests.at(cdcEnv.get("OUTBOX_RELAY_CDC_USERNAME"), "secretKeyRef", "name"))
        .isEqualTo("outbox-relay-cdc-replication");
    assertThat(builtEnv(polling)).doesNotContainKey("OUTBOX_RELAY_CDC_USERNAME");
    assertThat(HelmChartTests.at(HelmChartTests.kind(cdc, "Deployment"), "spec", "replicas"))
        .isEqualTo(2);
    assertThat(cdc.stream().map(d -> d.get("kind"))).doesNotContain("Secret");
  }
}
