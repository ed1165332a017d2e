package dev.outboxkit.test;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How a JVM with test servers exits: with status 0 once every test passed, its servers stopped in
 * order and their directories gone. Each test runs {@link JvmExitMain} in a JVM of its own (a
 * non-zero status of the surefire fork fails the build as "Error occurred in starting fork").
 */
@ServerTest
class JvmExitIntegrationTests {

  @TempDir Path work;

  @Test
  void aBrokerStillRunningWhenTheJvmExitsKeepsItsDirectoryUntilItStops() throws Exception {
    Result result = run("broker-outlives-exit-start");

    // Before the fix: status 1, Exit.halt from LogManager.handleLogDirFailure ("Shutdown broker
    // because all log dirs ... have failed"): Kafka's own hook had deleted the directory.
    assertThat(result.status()).as(result.output()).isZero();
    String baseDir =
        result.output().lines().filter(l -> l.startsWith("base-dir ")).findFirst().orElseThrow();
    assertThat(Path.of(baseDir.substring("base-dir ".length()))).doesNotExist();
    assertThat(result.output()).doesNotContain("log dirs").doesNotContain("LogDirFailureChannel");
  }

  @Test
  void jvmExitStopsTheServersLastStartedFirstAndLogsKafkaHalts() throws Exception {
    Result result = run("ordered");

    assertThat(result.status()).as(result.output()).isZero();
    List<String> log = Files.readAllLines(result.log());
    List<String> events = new ArrayList<>();
    for (String line : log) {
      int bracket = line.indexOf("] ");
      if (bracket > 0) {
        events.add(line.substring(bracket + 2));
      }
    }
    assertThat(events)
        .filteredOn(e -> e.startsWith("stopping ") || e.startsWith("stopped "))
        .extracting(
            e -> e.replaceAll(" in \\d+ ms$", "").replaceAll("(port|at) [A-Za-z0-9.:]+", "$1 N"))
        .containsExactly(
            "stopping a server whose stop makes Kafka halt",
            "stopped a server whose stop makes Kafka halt",
            "stopping embedded PostgreSQL on port N",
            "stopped embedded PostgreSQL on port N",
            "stopping in-JVM Kafka (KRaft) at N",
            "stopped in-JVM Kafka (KRaft) at N");
    assertThat(String.join("\n", log))
        .contains(
            "Kafka called Exit.halt(1) during shutdown, ignored: java.lang.Throwable: simulated")
        .contains("all test servers stopped in ");
  }

  private record Result(int status, String output, Path log) {}

  private Result run(String scenario) throws IOException, InterruptedException {
    Path log = work.resolve("shutdown.log");
    Path output = work.resolve("output.txt");
    String classPath =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> command =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx512m",
            "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
            "-D" + TestShutdown.LOG_PROPERTY + "=" + log,
            "-cp",
            classPath,
            JvmExitMain.class.getName(),
            scenario);
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(output.toFile())
            .start();
    if (!process.waitFor(180, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      throw new AssertionError("No exit in 180 s:\n" + Files.readString(output));
    }
    return new Result(process.exitValue(), Files.readString(output, StandardCharsets.UTF_8), log);
  }
}
