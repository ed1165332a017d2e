package dev.outboxkit.relay;

import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * Parked events that failed the same way: one {@link FailureFingerprint}, with how many there are,
 * when the oldest and newest were appended, a few example ids and the aggregate and event types
 * they span.
 *
 * @param fingerprint the failure they share
 * @param count how many parked events have it
 * @param firstSeen when the oldest of them was appended
 * @param lastSeen when the newest of them was appended
 * @param exampleIds the ids of the oldest few, in append order
 * @param aggregateTypes the aggregate types among them, sorted (the topic follows from these)
 * @param eventTypes the event types among them, sorted
 * @since 0.8
 */
public record ParkedGroup(
    FailureFingerprint fingerprint,
    long count,
    Instant firstSeen,
    Instant lastSeen,
    List<UUID> exampleIds,
    List<String> aggregateTypes,
    List<String> eventTypes) {

  /** How many example ids a group keeps. */
  public static final int EXAMPLES = 3;

  /** Copies the collections. */
  public ParkedGroup {
    exampleIds = List.copyOf(exampleIds);
    aggregateTypes = List.copyOf(aggregateTypes);
    eventTypes = List.copyOf(eventTypes);
  }
}
