package dev.outboxkit.relay.kafka;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Remembers which topics exist. Without it, a record for a missing topic (brokers with
 * auto-creation off) blocks {@code send()} for {@code max.block.ms} on every attempt. A topic seen
 * once is trusted from then on; a missing one is asked about again on the next attempt.
 */
final class TopicCheck {

  enum Answer {
    EXISTS,
    MISSING,
    UNKNOWN
  }

  private final Admin admin;
  private final Duration timeout;
  private final Set<String> known = ConcurrentHashMap.newKeySet();

  TopicCheck(Admin admin, Duration timeout) {
    this.admin = admin;
    this.timeout = timeout;
  }

  Answer check(String topic) {
    if (known.contains(topic)) {
      return Answer.EXISTS;
    }
    try {
      admin
          .describeTopics(List.of(topic))
          .allTopicNames()
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      known.add(topic);
      return Answer.EXISTS;
    } catch (ExecutionException e) {
      return e.getCause() instanceof UnknownTopicOrPartitionException
          ? Answer.MISSING
          : Answer.UNKNOWN;
    } catch (TimeoutException e) {
      return Answer.UNKNOWN;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Answer.UNKNOWN;
    }
  }
}
