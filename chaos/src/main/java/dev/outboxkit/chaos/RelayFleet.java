package dev.outboxkit.chaos;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The relay processes of a run ({@link ChaosRelayMain}, one JVM each, on this JVM's class path), in
 * numbered slots: a slot whose relay was killed gets a new one with a new instance id ({@code
 * relay-<slot>-<generation>}), as an orchestrator would restart a crashed pod.
 */
final class RelayFleet implements AutoCloseable {

  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);

  /** A relay process and its log. */
  record Relay(int slot, String id, Process process, Path log, Path control) {}

  private final ChaosConfig config;
  private final ChaosEnvironment environment;
  private final String cdcName;
  private final String deadLetterTopic;
  private final List<Relay> relays = new ArrayList<>();
  private final List<Relay> all = new ArrayList<>();
  private int generation;

  RelayFleet(
      ChaosConfig config, ChaosEnvironment environment, String cdcName, String deadLetterTopic) {
    this.config = config;
    this.environment = environment;
    this.cdcName = cdcName;
    this.deadLetterTopic = deadLetterTopic;
  }

  /** Starts one relay per slot and waits until each reports it started. */
  void startAll() {
    for (int slot = 0; slot < config.relays(); slot++) {
      relays.add(launch(slot));
    }
  }

  synchronized List<Relay> relays() {
    return List.copyOf(relays);
  }

  /** Replaces the relay of a slot (after a kill) with a new process and a new instance id. */
  synchronized Relay respawn(int slot) {
    Relay relay = launch(slot);
    relays.set(slot, relay);
    return relay;
  }

  /** {@code kill -9}: the process dies at once, no shutdown hook, connections dropped by the OS. */
  static void kill(Relay relay) {
    relay.process().destroyForcibly();
    try {
      if (!relay.process().waitFor(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("Relay " + relay.id() + " still runs 30 s after SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted", e);
    }
  }

  /** Sends a signal ({@code STOP}, {@code CONT}) to a relay process. */
  static void signal(Relay relay, String signal) {
    try {
      Process kill =
          new ProcessBuilder("kill", "-" + signal, String.valueOf(relay.process().pid())).start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + signal + " " + relay.id() + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Could not run kill -" + signal, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted", e);
    }
  }

  /** Waits up to {@code timeout} for a relay process to end; whether it did. */
  static boolean awaitExit(Relay relay, Duration timeout) {
    try {
      return relay.process().waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted", e);
    }
  }

  /** Relays that died without being killed by a fault (a crash of the relay itself). */
  synchronized List<Relay> unexpectedlyDead() {
    return relays.stream().filter(r -> !r.process().isAlive()).toList();
  }

  /** The last lines of a relay's log, for the report. */
  static String tail(Relay relay, int lines) {
    try {
      List<String> all = Files.readAllLines(relay.log(), StandardCharsets.UTF_8);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log at " + relay.log() + ")";
    }
  }

  private Relay launch(int slot) {
    String id = "relay-" + slot + "-" + generation++;
    String java = ProcessHandle.current().info().command().orElse("java");
    String classPath =
        System.getProperty("outboxkit.chaos.classpath", System.getProperty("java.class.path"));
    try {
      Files.createDirectories(config.workDir());
      Path log = config.workDir().resolve(id + ".log");
      Path control = Files.createDirectories(config.workDir().resolve("control").resolve(id));
      environment.writeClientProperties(control.resolve(ChaosRelayMain.CLIENT_PROPERTIES));
      ProcessBuilder builder =
          new ProcessBuilder(
                  java,
                  "-Xmx256m",
                  "-XX:+UseSerialGC",
                  "-XX:TieredStopAtLevel=1",
                  "-cp",
                  classPath,
                  ChaosRelayMain.class.getName(),
                  environment.jdbcUrl(),
                  environment.user(),
                  environment.bootstrapServers(),
                  id,
                  config.mode().name().toLowerCase(Locale.ROOT),
                  String.valueOf(config.batchSize()),
                  String.valueOf(config.leaseTtl().toMillis()),
                  String.valueOf(config.heartbeat().toMillis()),
                  cdcName,
                  control.toString(),
                  deadLetterTopic)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile());
      builder.environment().put(ChaosRelayMain.PASSWORD_VARIABLE, environment.password());
      Relay relay = new Relay(slot, id, builder.start(), log, control);
      all.add(relay);
      awaitStarted(relay);
      return relay;
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start relay " + id, e);
    }
  }

  private static void awaitStarted(Relay relay) throws IOException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (!Files.readString(relay.log(), StandardCharsets.UTF_8)
        .contains(ChaosRelayMain.STARTED)) {
      if (!relay.process().isAlive() || System.nanoTime() > deadline) {
        relay.process().destroyForcibly();
        throw new IllegalStateException(
            "Relay " + relay.id() + " did not start; its log:\n" + tail(relay, 40));
      }
      Pause.millis(50);
    }
  }

  /**
   * The starvation episodes every relay process of the run reported in its log (see {@link
   * StarvationWatch}), one line each.
   */
  synchronized List<String> starvation() {
    List<String> found = new ArrayList<>();
    for (Relay relay : all) {
      try {
        for (String line : Files.readAllLines(relay.log(), StandardCharsets.UTF_8)) {
          int at = line.indexOf(ChaosSignals.STARVED);
          if (at >= 0) {
            found.add(line.substring(at + ChaosSignals.STARVED.length()).trim());
          }
        }
      } catch (IOException e) {
        found.add("relay " + relay.id() + ": its log could not be read (" + e + ")");
      }
    }
    return found;
  }

  /** Kills every relay process this fleet started (SIGKILL ends frozen ones too). */
  @Override
  public synchronized void close() {
    for (Relay relay : all) {
      if (relay.process().isAlive()) {
        relay.process().destroyForcibly();
      }
    }
  }
}
