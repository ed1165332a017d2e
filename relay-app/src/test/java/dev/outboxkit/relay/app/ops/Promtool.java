package dev.outboxkit.relay.app.ops;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs Prometheus' {@code promtool} (Debian package {@code prometheus}; {@code PROMTOOL} names
 * another binary). Tests that need it are skipped, with a message naming the package, when it is
 * not installed.
 */
final class Promtool {

  private Promtool() {}

  static Path binary() {
    String configured = System.getenv("PROMTOOL");
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured);
    }
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String dir : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir, "promtool");
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return Path.of("promtool");
  }

  static void assumeInstalled() {
    Assumptions.assumeTrue(
        Files.isExecutable(binary()),
        "promtool not found: install the Debian package 'prometheus' (apt-get install prometheus)"
            + " or set PROMTOOL; .ci/run installs it");
  }

  /** Runs promtool with the arguments and returns its output, asserting exit code 0. */
  static String run(String... args) throws IOException, InterruptedException {
    assumeInstalled();
    List<String> command = new ArrayList<>();
    command.add(binary().toString());
    command.addAll(List.of(args));
    Process process =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .directory(DeployFiles.root().toFile())
            .start();
    process.getOutputStream().close();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("promtool finished").isTrue();
    assertThat(process.exitValue()).as("promtool %s:%n%s", String.join(" ", args), output).isZero();
    return output;
  }
}
