package dev.outboxkit.samples.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * The relay in a JVM of its own, as the standalone relay jar ({@code outbox-relay-app}) runs it:
 * the starter with {@code outbox.relay.enabled=true} and nothing else. The load generator starts
 * one, kills it with SIGKILL mid-way and starts another, to show that a relay crash loses nothing.
 */
public final class RelayProcess implements AutoCloseable {

  /** The relay application run in the child JVM. */
  @SpringBootApplication(scanBasePackages = "dev.outboxkit.samples.demo.relayonly")
  public static class Main {
    public static void main(String[] args) {
      SpringApplication.run(Main.class, args);
    }
  }

  private final Process process;
  private final Path log;

  private RelayProcess(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /** Starts a relay JVM on the payment database, from this JVM's class path. */
  public static RelayProcess start(DemoStack.Settings settings, String name) throws IOException {
    Path log = Files.createTempFile("outboxkit-demo-" + name + "-", ".log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> command =
        List.of(
            java,
            "-Xmx256m",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            System.getProperty("java.class.path"),
            Main.class.getName(),
            "--spring.main.web-application-type=none",
            // Without a web server nothing else keeps the JVM alive: the relay's threads are
            // daemons.
            "--spring.main.keep-alive=true",
            "--spring.flyway.enabled=false",
            "--spring.datasource.url=" + settings.paymentDb().url(),
            "--spring.datasource.username=" + settings.paymentDb().username(),
            "--spring.datasource.password=" + settings.paymentDb().password(),
            "--spring.kafka.bootstrap-servers=" + settings.kafka(),
            "--outbox.relay.enabled=true",
            "--outbox.relay.instance-id=" + name,
            "--outbox.idempotency.enabled=false",
            // A killed relay's partitions move to the next one after 3 s instead of 30 s.
            "--outbox.relay.leases.ttl=3s",
            "--outbox.relay.leases.heartbeat-interval=500ms");
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    return new RelayProcess(process, log);
  }

  /** SIGKILL: no shutdown hook, no graceful close, leases left to expire. */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public long pid() {
    return process.pid();
  }

  public Path log() {
    return log;
  }

  /** Waits until the relay logged that it started, or fails with the end of its log. */
  public void awaitStarted(Duration timeout) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.readString(log).contains("Started RelayProcess.Main")) {
        return;
      }
      if (!process.isAlive()) {
        break;
      }
      Thread.sleep(100);
    }
    String text = Files.readString(log);
    throw new IllegalStateException(
        "Relay process did not start: " + text.substring(Math.max(0, text.length() - 4000)));
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
