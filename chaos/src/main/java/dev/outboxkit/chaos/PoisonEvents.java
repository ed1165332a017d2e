package dev.outboxkit.chaos;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.relay.ParkedEvent;
import dev.outboxkit.relay.ParkedEvents;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * Events no broker will take: routed to the run's poison topic, whose {@code max.message.bytes} is
 * smaller than their payload, so the broker refuses each with {@code RecordTooLargeException} and
 * the relay must park it (a permanent error) and copy it to the dead-letter topic. Each has a key
 * of its own. The ledger check counts a parked poison event as handled; one that is neither parked
 * nor left in the outbox was dropped.
 */
final class PoisonEvents {

  /** The poison topic's {@code max.message.bytes}. */
  static final int TOPIC_MAX_BYTES = 1024;

  private static final int PAYLOAD_BYTES = 4 * TOPIC_MAX_BYTES;

  private final JdbcTransactions transactions;
  private final Outbox outbox;
  private final String topic;
  private final ParkedEvents parked;
  private final List<UUID> committed = new ArrayList<>();
  private int next;

  PoisonEvents(JdbcTransactions transactions, Outbox outbox, String topic, ParkedEvents parked) {
    this.transactions = transactions;
    this.outbox = outbox;
    this.topic = topic;
    this.parked = parked;
  }

  /**
   * Commits {@code count} poison events in one transaction; returns their ids (none if it failed).
   */
  synchronized List<UUID> write(int count) {
    List<OutboxMessage> messages = new ArrayList<>();
    String payload = "x".repeat(PAYLOAD_BYTES);
    for (int i = 0; i < count; i++) {
      messages.add(OutboxMessage.of(topic, "poison-" + next++, "ChaosPoison", payload));
    }
    try {
      List<UUID> ids =
          transactions.inTransaction(c -> outbox.appendAll(messages)).stream()
              .map(OutboxEvent::id)
              .toList();
      committed.addAll(ids);
      return ids;
    } catch (RuntimeException e) {
      // In doubt, like a writer's failed commit: not required to be parked.
      return List.of();
    }
  }

  /** Poison events whose commit returned. */
  synchronized List<UUID> committed() {
    return List.copyOf(committed);
  }

  /** Parked events routed to {@code aggregateType} (healthy ones, when it is the run's topic). */
  long parkedOf(String aggregateType) {
    return parked.list(1_000_000).stream()
        .filter(e -> e.aggregateType().equals(aggregateType))
        .count();
  }

  /** The ids of every parked event, as an operator lists them. */
  Set<UUID> parkedIds() {
    Set<UUID> ids = new HashSet<>();
    for (ParkedEvent event : parked.list(1_000_000)) {
      ids.add(event.id());
    }
    return ids;
  }
}
