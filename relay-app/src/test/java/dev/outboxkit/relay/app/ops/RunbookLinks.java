package dev.outboxkit.relay.app.ops;

import java.nio.file.Path;

/** Where alerts' {@code runbook_url}s point: docs/runbooks on the project's main branch. */
final class RunbookLinks {

  static final String BASE = "https://github.com/outboxkit/outboxkit/blob/main/docs/runbooks/";

  private RunbookLinks() {}

  /** The page in this checkout that a runbook URL points to. */
  static Path page(String url) {
    if (!url.startsWith(BASE)) {
      throw new IllegalArgumentException("Not a runbook URL under " + BASE + ": " + url);
    }
    return DeployFiles.runbooks().resolve(url.substring(BASE.length()));
  }
}
