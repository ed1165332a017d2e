package dev.outboxkit.relay.internal;

import dev.outboxkit.relay.FailureFingerprint;
import dev.outboxkit.relay.ParkedEvent;
import dev.outboxkit.relay.ParkedGroup;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Adds parked events, visited in append order, to their failure groups. Keeps per group only its
 * counts, times, a few ids and the type names, so 40,000 events of one group cost one entry.
 */
final class ParkedGroups {

  private final Map<String, Builder> groups = new LinkedHashMap<>();
  private long events;

  void add(ParkedEvent event) {
    FailureFingerprint fingerprint = FailureFingerprint.of(event.lastError());
    groups.computeIfAbsent(fingerprint.id(), id -> new Builder(fingerprint)).add(event);
    events++;
  }

  /** How many events were added. */
  long events() {
    return events;
  }

  /** The groups, largest first (ties: the one whose oldest event is older first). */
  List<ParkedGroup> result() {
    List<ParkedGroup> result = new ArrayList<>();
    groups.values().forEach(b -> result.add(b.build()));
    result.sort(
        Comparator.comparingLong(ParkedGroup::count)
            .reversed()
            .thenComparing(ParkedGroup::firstSeen));
    return result;
  }

  private static final class Builder {
    private final FailureFingerprint fingerprint;
    private final List<UUID> examples = new ArrayList<>();
    private final TreeSet<String> aggregateTypes = new TreeSet<>();
    private final TreeSet<String> eventTypes = new TreeSet<>();
    private long count;
    private Instant first = Instant.MAX;
    private Instant last = Instant.MIN;

    Builder(FailureFingerprint fingerprint) {
      this.fingerprint = fingerprint;
    }

    void add(ParkedEvent event) {
      count++;
      if (examples.size() < ParkedGroup.EXAMPLES) {
        examples.add(event.id());
      }
      aggregateTypes.add(event.aggregateType());
      eventTypes.add(event.eventType());
      first = event.createdAt().isBefore(first) ? event.createdAt() : first;
      last = event.createdAt().isAfter(last) ? event.createdAt() : last;
    }

    ParkedGroup build() {
      return new ParkedGroup(
          fingerprint,
          count,
          first,
          last,
          examples,
          List.copyOf(aggregateTypes),
          List.copyOf(eventTypes));
    }
  }
}
