package dev.outboxkit.relay.app.cli;

import dev.outboxkit.relay.ParkedFilter;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The selection options shared by the {@code parked} commands, turned into a {@link ParkedFilter}:
 * the {@link EventTypeOptions types} every listing has, and the parked events' own.
 */
final class FilterOptions extends EventTypeOptions {

  @Option(
      names = "--group",
      paramLabel = "ID",
      description = "Only the failure group with this id (from 'parked groups').")
  @Nullable String group;

  @Option(
      names = "--error-like",
      paramLabel = "TEXT",
      description =
          "Only events whose last error contains TEXT, ignoring case; % or * match any text (then"
              + " the whole error must match).")
  @Nullable String errorLike;

  @Option(
      names = "--since",
      paramLabel = "WHEN",
      description =
          "Only events appended since WHEN: an instant (2026-12-06T03:00:00Z) or an age (30m, 2h,"
              + " 7d).")
  @Nullable String since;

  @Parameters(paramLabel = "ID", description = "Only these event ids.")
  List<UUID> ids = new ArrayList<>();

  ParkedFilter filter(Clock clock) {
    return ParkedFilter.all()
        .withGroup(group)
        .withErrorLike(errorLike)
        .withEventType(type)
        .withAggregateType(aggregateType)
        .withSince(since == null ? null : since(since, clock))
        .withIds(ids);
  }

  static Instant since(String value, Clock clock) {
    try {
      return ParkedFilter.since(value, clock.instant());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--" + e.getMessage(), e);
    }
  }
}
