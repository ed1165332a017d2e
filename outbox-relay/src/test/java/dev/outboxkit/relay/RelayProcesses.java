package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/** Starts {@link RelayProcessMain} in JVMs of their own, for tests that kill them with SIGKILL. */
final class RelayProcesses implements AutoCloseable {

  private final List<Process> started = new ArrayList<>();
  private static final Map<Long, Path> LOGS = new ConcurrentHashMap<>();
  private boolean tagSenders;

  /**
   * Relays started from now on tag their records with their instance id and send time ({@link
   * SenderTags}).
   */
  RelayProcesses tagSenders() {
    tagSenders = true;
    return this;
  }

  /**
   * Starts a relay JVM on the test's class path and waits until it reports it started.
   *
   * @param cdcEngine the CDC engine name, or {@code null} for a polling relay
   */
  Process start(TestDatabase db, String bootstrapServers, String id, String cdcEngine)
      throws Exception {
    return start(db, bootstrapServers, id, cdcEngine, "2s,250ms");
  }

  /**
   * As {@link #start(TestDatabase, String, String, String)}, with the leases' TTL and heartbeat.
   *
   * @param leases {@code "<ttl>,<heartbeat>"}, e.g. {@code "30s,500ms"}
   */
  Process start(
      TestDatabase db, String bootstrapServers, String id, String cdcEngine, String leases)
      throws Exception {
    return start(db, db.jdbcUrl(), null, bootstrapServers, id, cdcEngine, leases);
  }

  /**
   * As {@link #start(TestDatabase, String, String, String, String)}, reaching the database at
   * {@code jdbcUrl} (e.g. through a pooler) and, when {@code sessionUrl} is set, holding its
   * session lock and LISTEN on direct connections to that URL.
   */
  Process start(
      TestDatabase db,
      String jdbcUrl,
      @Nullable String sessionUrl,
      String bootstrapServers,
      String id,
      String cdcEngine,
      String leases)
      throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Path log = Files.createTempFile("relay-" + id, ".log");
    List<String> command =
        new ArrayList<>(List.of(java, "-Xmx256m", "-Doutboxkit.test.leases=" + leases));
    if (sessionUrl != null) {
      command.add("-Doutboxkit.test.sessionUrl=" + sessionUrl);
    }
    if (tagSenders) {
      command.add("-Doutboxkit.test.tagSenders=true");
    }
    command.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            RelayProcessMain.class.getName(),
            jdbcUrl,
            db.username(),
            db.password(),
            bootstrapServers,
            id));
    if (cdcEngine != null) {
      command.add(cdcEngine);
    }
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    started.add(process);
    LOGS.put(process.pid(), log);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.readString(log).contains("RELAY STARTED")) {
      assertThat(process.isAlive()).as("relay process, see %s", log).isTrue();
      assertThat(System.nanoTime()).as("relay start, see %s", log).isLessThan(deadline);
      Thread.sleep(50);
    }
    return process;
  }

  /** The last {@code lines} lines of a relay process's log, for a failure message. */
  static String tail(Process process, int lines) {
    Path log = LOGS.get(process.pid());
    if (log == null) {
      return "(no log)";
    }
    try {
      List<String> all = Files.readAllLines(log);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (java.io.IOException e) {
      return "(log " + log + " unreadable: " + e + ")";
    }
  }

  @Override
  public void close() {
    started.forEach(Process::destroyForcibly);
  }
}
