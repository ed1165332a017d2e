package dev.outboxkit.relay.app.cli;

import picocli.CommandLine.Option;

/** {@code --limit}, how many items a listing shows: 1 to 1000, the default per command. */
final class LimitOption {

  @Option(names = "--limit", description = "At most this many (1-1000).")
  int limit;

  /** {@code --limit} defaulting to {@code defaultLimit} (picocli keeps the field's value). */
  LimitOption(int defaultLimit) {
    this.limit = defaultLimit;
  }

  /**
   * The limit, checked.
   *
   * @throws IllegalArgumentException outside 1 to 1000
   */
  int value() {
    if (limit < 1 || limit > 1000) {
      throw new IllegalArgumentException("--limit must be 1 to 1000 but was " + limit);
    }
    return limit;
  }
}
