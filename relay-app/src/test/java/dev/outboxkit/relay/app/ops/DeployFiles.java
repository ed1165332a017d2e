package dev.outboxkit.relay.app.ops;

import java.nio.file.Files;
import java.nio.file.Path;

/** The repository's shipped operations files, found from the module's working directory. */
final class DeployFiles {

  private DeployFiles() {}

  /** The repository root: the first parent of the working directory holding {@code deploy/}. */
  static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      if (Files.isDirectory(dir.resolve("deploy/prometheus"))
          && Files.isDirectory(dir.resolve("docs"))) {
        return dir;
      }
      dir = dir.getParent();
    }
    throw new IllegalStateException(
        "No deploy/prometheus above " + Path.of("").toAbsolutePath() + ": run from the repository");
  }

  static Path rules() {
    return root().resolve("deploy/prometheus/outbox-relay-rules.yml");
  }

  static Path ruleTests() {
    return root().resolve("deploy/prometheus/tests/outbox-relay-rules-test.yml");
  }

  static Path runbooks() {
    return root().resolve("docs/runbooks");
  }

  static Path dashboards() {
    return root().resolve("deploy/grafana");
  }
}
