package dev.outboxkit.relay.app.ops;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * A real Prometheus server (Debian package {@code prometheus}; {@code PROMETHEUS} names another
 * binary) on a free loopback port, with its own TSDB directory, started for one test class and
 * stopped by {@link #close()} (no process outlives the test). Tests that need it are skipped, with
 * a message naming the package, when it is not installed.
 */
final class PrometheusServer implements AutoCloseable {

  private static final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private final Process process;
  private final int port;
  private final Path log;

  private PrometheusServer(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  static Path binary() {
    String configured = System.getenv("PROMETHEUS");
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured);
    }
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String dir : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir, "prometheus");
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return Path.of("/usr/bin/prometheus");
  }

  static void assumeInstalled() {
    Assumptions.assumeTrue(
        Files.isExecutable(binary()),
        "prometheus not found: install the Debian package 'prometheus' (apt-get install"
            + " prometheus) or set PROMETHEUS; .ci/run installs it");
  }

  /**
   * Starts Prometheus with the configuration file (whose rule_files and targets the caller wrote)
   * and returns once {@code /-/ready} answers 200.
   */
  static PrometheusServer start(Path config, Path workDir) throws Exception {
    assumeInstalled();
    Path data = Files.createDirectories(workDir.resolve("data"));
    Path log = workDir.resolve("prometheus.log");
    IOException last = null;
    for (int tries = 0; tries < 3; tries++) {
      int port = freePort();
      List<String> command =
          new ArrayList<>(
              List.of(
                  binary().toString(),
                  "--config.file=" + config,
                  "--storage.tsdb.path=" + data,
                  "--web.listen-address=127.0.0.1:" + port,
                  "--log.level=warn"));
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .directory(workDir.toFile())
              .start();
      process.getOutputStream().close();
      PrometheusServer server = new PrometheusServer(process, port, log);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (System.nanoTime() < deadline && process.isAlive()) {
        try {
          if (server.get("/-/ready").statusCode() == 200) {
            return server;
          }
        } catch (IOException notYet) {
          last = notYet;
        }
        Thread.sleep(100);
      }
      server.close();
      // A port taken between freePort() and the bind makes Prometheus exit: try another one.
    }
    throw new IllegalStateException(
        "Prometheus did not become ready; its log: " + Files.readString(log), last);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private HttpResponse<String> get(String pathAndQuery) throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode api(String pathAndQuery) throws IOException, InterruptedException {
    HttpResponse<String> response = get(pathAndQuery);
    JsonNode body = new ObjectMapper().readTree(response.body());
    if (response.statusCode() != 200 || !"success".equals(body.path("status").asString())) {
      throw new IllegalStateException(pathAndQuery + " answered " + response.body());
    }
    return body.path("data");
  }

  /** The {@code data.alerts} array of {@code /api/v1/alerts}: every pending and firing alert. */
  JsonNode alerts() throws IOException, InterruptedException {
    return api("/api/v1/alerts").path("alerts");
  }

  /** The result vector of an instant query. */
  JsonNode query(String promql) throws IOException, InterruptedException {
    return api("/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8))
        .path("result");
  }

  /** The server's log so far (for assertion messages). */
  String log() throws IOException {
    return Files.readString(log);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy(); // SIGTERM: Prometheus shuts down cleanly in well under a second
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
