package dev.outboxkit.relay.internal.kafka;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Remembers which topics exist. Without it, a record for a missing topic (brokers with
 * auto-creation off) blocks {@code send()} for {@code max.block.ms} on every attempt. A topic seen
 * once is trusted from then on; a missing one is asked about again on the next attempt. The admin
 * client is created on the first check (no I/O before) and closed with the publisher.
 */
final class TopicCheck {

  private static final Logger log = LoggerFactory.getLogger(TopicCheck.class);

  enum Answer {
    EXISTS,
    MISSING,
    UNKNOWN
  }

  private final Map<String, Object> adminConfig;
  private final Duration timeout;
  private final Set<String> known = ConcurrentHashMap.newKeySet();
  private @Nullable Admin admin;

  /**
   * @param adminConfig the admin client's configuration ({@link ProducerSettings#adminConfig()})
   * @param timeout how long one check may wait for the broker's answer
   */
  TopicCheck(Map<String, Object> adminConfig, Duration timeout) {
    this.adminConfig = adminConfig;
    this.timeout = timeout;
  }

  /**
   * Whether the topic is known to be missing; an admin client that cannot even be created (broker
   * address not resolvable) says nothing about the event, so the send goes ahead and the producer
   * reports what is wrong.
   */
  boolean missing(String topic) {
    try {
      return check(topic) == Answer.MISSING;
    } catch (KafkaException e) {
      log.debug("Could not check topic {}: {}", topic, KafkaErrors.describe(e));
      return false;
    }
  }

  Answer check(String topic) {
    if (known.contains(topic)) {
      return Answer.EXISTS;
    }
    try {
      admin()
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

  private Admin admin() {
    Admin a = admin;
    if (a == null) {
      a = Admin.create(adminConfig);
      admin = a;
    }
    return a;
  }

  /**
   * Closes the admin client, if one was created, and forgets what it learnt; a later check creates
   * a new one.
   */
  void close() {
    Admin a = admin;
    if (a != null) {
      a.close(Duration.ofSeconds(1));
      admin = null;
      known.clear();
    }
  }
}
