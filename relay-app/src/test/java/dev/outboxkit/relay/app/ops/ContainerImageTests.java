package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The relay's container image as built by {@code relay-app/Dockerfile} and by the Jib plugin in
 * {@code relay-app/pom.xml} is the image the Helm chart and the kustomize base deploy: same name
 * and version, the chart's non-root user, its ports and JVM options, and the jar the module builds.
 * (No Docker engine or registry here, so the image itself is not built in the tests.)
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ContainerImageTests {

  static final Path APP = DeployFiles.root().resolve("relay-app");

  private List<String> dockerfile;
  private Element jib;
  private String artifactId;
  private String version;
  private Map<String, Object> values;
  private Map<String, Object> chart;

  @BeforeAll
  @SuppressWarnings("unchecked")
  void read() throws Exception {
    // Continuation lines joined, comments dropped.
    String text = Files.readString(APP.resolve("Dockerfile"), StandardCharsets.UTF_8);
    dockerfile = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : text.split("\n")) {
      if (line.startsWith("#")) {
        continue;
      }
      if (line.endsWith("\\")) {
        current.append(line, 0, line.length() - 1).append(' ');
      } else {
        current.append(line);
        if (!current.toString().isBlank()) {
          dockerfile.add(current.toString().strip());
        }
        current.setLength(0);
      }
    }
    DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
    factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
    Document pom = factory.newDocumentBuilder().parse(APP.resolve("pom.xml").toFile());
    Element project = pom.getDocumentElement();
    artifactId = child(project, "artifactId").getTextContent().strip();
    version = child(child(project, "parent"), "version").getTextContent().strip();
    NodeList plugins = pom.getElementsByTagName("plugin");
    for (int i = 0; i < plugins.getLength(); i++) {
      Element plugin = (Element) plugins.item(i);
      if ("jib-maven-plugin".equals(child(plugin, "artifactId").getTextContent().strip())) {
        jib = plugin;
      }
    }
    assertThat(jib).as("jib-maven-plugin in relay-app/pom.xml").isNotNull();
    Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
    Path chartDir = DeployFiles.root().resolve("deploy/helm/outbox-relay");
    values = yaml.load(Files.readString(chartDir.resolve("values.yaml")));
    chart = yaml.load(Files.readString(chartDir.resolve("Chart.yaml")));
  }

  private static Element child(Element parent, String name) {
    for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals(name)) {
        return e;
      }
    }
    throw new AssertionError("no <" + name + "> in <" + parent.getTagName() + ">");
  }

  private static Element path(Element from, String... names) {
    Element e = from;
    for (String name : names) {
      e = child(e, name);
    }
    return e;
  }

  private List<String> instructions(String keyword) {
    return dockerfile.stream()
        .filter(l -> l.toUpperCase(java.util.Locale.ROOT).startsWith(keyword + " "))
        .map(l -> l.substring(keyword.length() + 1).strip())
        .toList();
  }

  private String chartRepository() {
    return (String) HelmChartTests.at(values, "image", "repository");
  }

  @Test
  void theImageNameAndVersionAreTheChartsAndTheKustomizeBases() throws Exception {
    assertThat(chartRepository()).isEqualTo("ghcr.io/outboxkit/outbox-relay");
    assertThat(String.valueOf(chart.get("appVersion"))).as("chart appVersion").isEqualTo(version);
    String jibImage = path(jib, "configuration", "to", "image").getTextContent().strip();
    assertThat(jibImage).isEqualTo(chartRepository() + ":${project.version}");
    String kustomizeImage =
        (String) HelmChartTests.container(KustomizeTests.baseResources()).get("image");
    assertThat(kustomizeImage).isEqualTo(chartRepository() + ":" + version);
    // The build command written in the Dockerfile and in docs/relay.md tags the same image.
    String command = "docker build -t " + chartRepository() + ":" + version + " relay-app";
    assertThat(Files.readString(APP.resolve("Dockerfile"))).contains(command);
    assertThat(Files.readString(DeployFiles.root().resolve("docs/relay.md"))).contains(command);
  }

  @Test
  void theImageRunsTheModulesJarAsTheChartsNonRootUserWithItsPortsAndJvmOptions() throws Exception {
    Object runAsUser = HelmChartTests.at(values, "podSecurityContext", "runAsUser");
    List<String> users = instructions("USER");
    assertThat(users).hasSize(1);
    assertThat(users.get(0)).isEqualTo(runAsUser + ":" + runAsUser);
    assertThat(path(jib, "configuration", "container", "user").getTextContent().strip())
        .isEqualTo(users.get(0));
    assertThat(instructions("RUN").stream().filter(r -> r.contains("useradd")))
        .singleElement()
        .asString()
        .contains("--uid " + runAsUser);

    List<String> exposed =
        instructions("EXPOSE").stream().flatMap(e -> Arrays.stream(e.split("\\s+"))).toList();
    Object http = HelmChartTests.at(values, "ports", "http");
    Object management = HelmChartTests.at(values, "ports", "management");
    assertThat(exposed).containsExactly(String.valueOf(http), String.valueOf(management));
    List<String> jibPorts = new ArrayList<>();
    NodeList ports = path(jib, "configuration", "container", "ports").getElementsByTagName("port");
    for (int i = 0; i < ports.getLength(); i++) {
      jibPorts.add(ports.item(i).getTextContent().strip());
    }
    assertThat(jibPorts).isEqualTo(exposed);

    Matcher env =
        Pattern.compile("^JAVA_TOOL_OPTIONS=\"(.*)\"$")
            .matcher(instructions("ENV").stream().findFirst().orElse(""));
    assertThat(env.matches()).as("ENV JAVA_TOOL_OPTIONS in the Dockerfile").isTrue();
    String chartJvm =
        (String)
            HelmChartTests.env(HelmChartTests.container(HelmChartTests.render(Map.of())))
                .get("JAVA_TOOL_OPTIONS")
                .get("value");
    assertThat(env.group(1)).isEqualTo(chartJvm).contains("MaxRAMPercentage");
    assertThat(
            path(jib, "configuration", "container", "environment", "JAVA_TOOL_OPTIONS")
                .getTextContent()
                .strip())
        .isEqualTo(chartJvm);

    assertThat(instructions("COPY").get(0)).startsWith("target/" + artifactId + "-*.jar ");
    assertThat(path(jib, "configuration", "container", "mainClass").getTextContent().strip())
        .isEqualTo(dev.outboxkit.relay.app.OutboxRelayApplication.class.getName());
    assertThat(instructions("ENTRYPOINT")).singleElement().asString().contains("JarLauncher");
  }

  @Test
  void jibIsBoundToNoPhase() {
    // No registry or Docker engine in an ordinary build: Jib runs only when asked for.
    assertThat(jib.getElementsByTagName("executions").getLength()).isZero();
    assertThat(child(jib, "version").getTextContent().strip()).isEqualTo("3.5.2");
  }
}
