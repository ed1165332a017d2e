package dev.outboxkit.relay.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.json.JsonMapper;

/**
 * The packaged relay jar ({@code java -jar}, the path failsafe passes in {@code
 * outboxkit.relay-app.jar}) in a JVM of its own, configured by exactly the environment given: the
 * test JVM's environment (SPRING_*, OUTBOX_*, JAVA_TOOL_OPTIONS...) does not leak in. Its output
 * goes to a log file. With {@code PORT=0} and {@code MANAGEMENT_PORT=0}, the management port is the
 * one of the ports in Tomcat's start-up lines that answers {@code /actuator/health}: no port is
 * picked ahead and then raced for.
 */
final class RelayJar implements AutoCloseable {

  static final JsonMapper JSON = JsonMapper.builder().build();
  private static final Pattern TOMCAT_PORT = Pattern.compile("Tomcat started on port (\\d+)");

  private final Process process;
  private final Path log;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private int managementPort;

  private RelayJar(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /**
   * Starts the jar; returns at once (see {@link #awaitHealthUp}).
   *
   * @param log the file for the process's output, replaced
   * @param environment the whole environment of the process besides PATH, HOME, LANG and TZ
   */
  static RelayJar start(Path log, Map<String, String> environment) throws IOException {
    String jarPath = System.getProperty("outboxkit.relay-app.jar");
    assertThat(jarPath)
        .as(
            "outboxkit.relay-app.jar (set by failsafe in relay-app/pom.xml): run ./mvnw verify -pl"
                + " relay-app -am")
        .isNotNull();
    Path jar = Path.of(jarPath).toAbsolutePath();
    assertThat(jar).as("the packaged relay jar").isRegularFile();
    Path tmp = Path.of("target", "tmp", "relay-jar").toAbsolutePath();
    Files.createDirectories(tmp);
    Files.createDirectories(log.toAbsolutePath().getParent());
    String java = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder builder =
        new ProcessBuilder(
                java,
                "-Xmx512m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Djava.io.tmpdir=" + tmp,
                "-jar",
                jar.toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    Map<String, String> env = builder.environment();
    Map<String, String> kept = new LinkedHashMap<>();
    for (String name : List.of("PATH", "HOME", "LANG", "TZ")) {
      if (env.containsKey(name)) {
        kept.put(name, env.get(name));
      }
    }
    env.clear();
    env.putAll(kept);
    env.putAll(environment);
    return new RelayJar(builder.start(), log);
  }

  Process process() {
    return process;
  }

  int managementPort() {
    return managementPort;
  }

  /** Waits until {@code /actuator/health} answers UP, failing at once if the process exits. */
  void awaitHealthUp(Duration timeout) {
    await("/actuator/health UP on the management port")
        .atMost(timeout)
        .pollInterval(Duration.ofMillis(200))
        .failFast("the relay process exited", () -> !process.isAlive())
        .until(
            () -> {
              for (int candidate : loggedPorts()) {
                HttpResponse<String> health = getIfListening(candidate, "/actuator/health", null);
                if (health != null
                    && health.statusCode() == 200
                    && "UP".equals(JSON.readTree(health.body()).path("status").asString(""))) {
                  managementPort = candidate;
                  return true;
                }
              }
              return false;
            });
  }

  private Set<Integer> loggedPorts() throws IOException {
    Set<Integer> ports = new LinkedHashSet<>();
    if (Files.exists(log)) {
      Matcher m = TOMCAT_PORT.matcher(Files.readString(log, StandardCharsets.UTF_8));
      while (m.find()) {
        ports.add(Integer.parseInt(m.group(1)));
      }
    }
    return ports;
  }

  /** A GET on the management port, with an {@code Authorization} header when given. */
  HttpResponse<String> get(String path, @Nullable String auth) throws InterruptedException {
    HttpResponse<String> response = getIfListening(managementPort, path, auth);
    if (response == null) {
      throw new AssertionError("Nothing answers GET " + path + " on port " + managementPort);
    }
    return response;
  }

  private @Nullable HttpResponse<String> getIfListening(
      int port, String path, @Nullable String auth) throws InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
            .timeout(Duration.ofSeconds(10))
            .GET();
    if (auth != null) {
      request.header("Authorization", auth);
    }
    try {
      return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      return null; // not listening yet
    }
  }

  /** The whole output so far. */
  String output() throws IOException {
    return Files.readString(log, StandardCharsets.UTF_8);
  }

  /** The last lines of the output, with the log's path, for failure messages. */
  String tail(int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
      return "relay output ("
          + log
          + "), last lines:\n"
          + String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no relay output at " + log + ": " + e + ")";
    }
  }

  /** Kills the process if it still runs (SIGKILL) and waits for it. */
  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
