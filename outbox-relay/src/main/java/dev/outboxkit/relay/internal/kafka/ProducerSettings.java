package dev.outboxkit.relay.internal.kafka;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The producer configuration of a publisher, built once from the user's properties. Our defaults
 * (linger 5 ms, 256 KiB batches, request timeout derived from the send timeout) come first and the
 * user's properties override them; what the delivery guarantees and the lease check rest on comes
 * last and cannot be overridden: idempotence, {@code acks=all}, byte-array serializers, the
 * delivery timeout and {@code max.block.ms}. The admin client used for topic checks gets the subset
 * of these settings it understands (bootstrap, security, SSL, SASL), so it reaches the same cluster
 * with the same credentials.
 */
final class ProducerSettings {

  private static final long DEFAULT_MAX_REQUEST_SIZE = 1048576;

  private final Map<String, Object> config;

  ProducerSettings(Map<String, Object> user, String clientId, Duration sendTimeout) {
    this.config = producerConfig(user, clientId, sendTimeout);
  }

  static Map<String, Object> producerConfig(
      Map<String, Object> user, String clientId, Duration sendTimeout) {
    Map<String, Object> config = new HashMap<>();
    long delivery = sendTimeout.toMillis();
    config.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    config.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    config.put(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
    config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(delivery - 5, 10_000L));
    config.putAll(user);
    // The lease check counts on these two (a send must end before the lease can pass); the
    // builder refuses them among the user's properties.
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Math.min(delivery, 10_000L));
    config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) delivery);
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return Map.copyOf(config);
  }

  /** The producer configuration, unmodifiable. */
  Map<String, Object> config() {
    return config;
  }

  /**
   * The producer's {@code max.request.size}: a record estimated larger is refused before sending.
   */
  long maxRequestSize() {
    return Long.parseLong(
        String.valueOf(
            config.getOrDefault(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, DEFAULT_MAX_REQUEST_SIZE)));
  }

  /** The producer's {@code delivery.timeout.ms}: how long to wait for a send's result. */
  long deliveryTimeoutMillis() {
    return Long.parseLong(String.valueOf(config.get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG)));
  }

  /**
   * The admin client's configuration: the settings it understands, client id {@code <id>-admin}.
   */
  Map<String, Object> adminConfig() {
    Map<String, Object> admin = new HashMap<>();
    for (Map.Entry<String, Object> e : config.entrySet()) {
      if (AdminClientConfig.configNames().contains(e.getKey())
          || e.getKey().startsWith("ssl.")
          || e.getKey().startsWith("sasl.")
          || e.getKey().equals(SaslConfigs.SASL_JAAS_CONFIG)) {
        admin.put(e.getKey(), e.getValue());
      }
    }
    admin.put(
        AdminClientConfig.CLIENT_ID_CONFIG, config.get(ProducerConfig.CLIENT_ID_CONFIG) + "-admin");
    return admin;
  }
}
