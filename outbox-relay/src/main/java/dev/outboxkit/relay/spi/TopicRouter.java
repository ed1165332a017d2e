package dev.outboxkit.relay.spi;

import dev.outboxkit.outbox.OutboxEvent;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Chooses the Kafka topic of an event. Called on the relay thread for every event; must be fast,
 * deterministic and thread-safe. The polling and CDC relays use the same router, so both produce
 * the same records.
 */
@FunctionalInterface
public interface TopicRouter {

  /**
   * The topic for an event.
   *
   * @param event the event
   * @return a legal Kafka topic name
   */
  String topic(OutboxEvent event);

  /**
   * Routes every event to {@code prefix + aggregateType}, e.g. {@code "payments."} turns aggregate
   * type {@code payment} into topic {@code payments.payment}.
   *
   * @param prefix the prefix, may be empty
   * @throws IllegalArgumentException when the prefix holds characters a topic may not
   */
  static TopicRouter prefixed(String prefix) {
    Objects.requireNonNull(prefix, "prefix");
    if (!prefix.isEmpty() && !Pattern.matches("[a-zA-Z0-9._-]+", prefix)) {
      throw new IllegalArgumentException(
          "Topic prefix '" + prefix + "' may only contain letters, digits, '.', '_' and '-'");
    }
    return event -> prefix + event.aggregateType();
  }

  /**
   * Routes the aggregate types in {@code topics} to their topic, and every other event through
   * {@code fallback}.
   *
   * @param topics aggregate type to topic
   * @param fallback the router for unmapped aggregate types
   */
  static TopicRouter mapping(Map<String, String> topics, TopicRouter fallback) {
    Map<String, String> copy = Map.copyOf(new LinkedHashMap<>(topics));
    Objects.requireNonNull(fallback, "fallback");
    return event -> {
      String topic = copy.get(event.aggregateType());
      return topic != null ? topic : fallback.topic(event);
    };
  }
}
