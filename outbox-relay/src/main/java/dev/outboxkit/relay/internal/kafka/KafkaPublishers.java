package dev.outboxkit.relay.internal.kafka;

import dev.outboxkit.relay.internal.RelaySettings;
import dev.outboxkit.relay.internal.delivery.ManagedBatchSender;
import io.micrometer.observation.ObservationRegistry;

/**
 * The one way into the Kafka package from the relays: creates the publisher that sends their
 * batches. Everything else in the package is package-private (enforced by {@code
 * ArchitectureTests}); only {@link KafkaRecords} is public too, for the Kafka Connect transform.
 * Not API.
 */
public final class KafkaPublishers {

  private KafkaPublishers() {}

  /**
   * A publisher with one idempotent producer ({@code acks=all}), or with {@link
   * RelaySettings#transactionalIdPrefix()} set one transactional producer per outbox partition. It
   * does no I/O until {@link ManagedBatchSender#start()} or the first send.
   *
   * <p>Taken from {@code settings}: the producer properties, the send timeout (the producer's
   * delivery timeout), the topic router, whether to check that a topic exists before sending to it,
   * the clock for acknowledgement times, the transactional id prefix, and the dead-letter topic
   * (whose existence {@link ManagedBatchSender#start()} checks), and the observation registry: when
   * it is not {@code NOOP}, each event sent is a publish observation ({@code ObservedBatchSender}).
   *
   * @param settings the relay's settings, not null
   * @param clientId the producer's client id, not null (transactional producers add {@code
   *     -p<partition>}, the admin client {@code -admin})
   * @return a publisher not started yet, for one publishing thread
   */
  public static ManagedBatchSender create(RelaySettings settings, String clientId) {
    return create(settings, clientId, true);
  }

  /**
   * As {@link #create(RelaySettings, String)}; {@code checksDeadLetterTopic} false for all but one
   * of a relay's publishers: the topic is the relay's, and with the broker out of reach each check
   * waits its full timeout, so one per publishing thread multiplied the start-up delay.
   */
  public static ManagedBatchSender create(
      RelaySettings settings, String clientId, boolean checksDeadLetterTopic) {
    ManagedBatchSender publisher = kafka(settings, clientId, checksDeadLetterTopic);
    // Wrapped only when observed: a relay without a registry pays nothing per event.
    if (settings.observationRegistry() == ObservationRegistry.NOOP) {
      return publisher;
    }
    return new ObservedBatchSender(
        publisher,
        settings.topicRouter(),
        settings.observationRegistry(),
        settings.publishObservationConvention());
  }

  private static ManagedBatchSender kafka(
      RelaySettings settings, String clientId, boolean checksDeadLetterTopic) {
    return new KafkaEventPublisher(
        settings.producerProperties(),
        clientId,
        settings.sendTimeout(),
        settings.topicRouter(),
        settings.verifyTopics(),
        settings.clock(),
        settings.transactionalIdPrefix(),
        checksDeadLetterTopic ? settings.deadLetterTopic() : null);
  }
}
