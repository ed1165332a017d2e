package dev.outboxkit.relay.app.cli;

import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/** {@code --type} and {@code --aggregate-type}: the selection by type that every listing has. */
class EventTypeOptions {

  @Option(names = "--type", paramLabel = "TYPE", description = "Only events of this event type.")
  @Nullable String type;

  @Option(
      names = "--aggregate-type",
      paramLabel = "TYPE",
      description = "Only events of this aggregate type.")
  @Nullable String aggregateType;
}
