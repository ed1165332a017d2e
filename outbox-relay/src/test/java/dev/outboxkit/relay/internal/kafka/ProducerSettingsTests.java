package dev.outboxkit.relay.internal.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class ProducerSettingsTests {

  @Test
  void theUsersPropertiesOverrideOurDefaultsButNotTheDeliveryGuarantees() {
    ProducerSettings settings =
        new ProducerSettings(
            Map.of(
                ProducerConfig.LINGER_MS_CONFIG,
                20,
                ProducerConfig.ACKS_CONFIG,
                "1",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
                false,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
                StringSerializer.class),
            "relay-1",
            Duration.ofSeconds(30));

    assertThat(settings.config())
        .containsEntry(ProducerConfig.CLIENT_ID_CONFIG, "relay-1")
        .containsEntry(ProducerConfig.LINGER_MS_CONFIG, 20)
        .containsEntry(ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024)
        .containsEntry(ProducerConfig.ACKS_CONFIG, "all")
        .containsEntry(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true)
        .containsEntry(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class)
        .containsEntry(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
  }

  /**
   * Review finding: a {@code delivery.timeout.ms} among the user's properties replaced the one the
   * lease check counts on (120 s against a 15 s window). The builder refuses it; should one get
   * here, the relay's own values win.
   */
  @Test
  void theLeaseCheckedTimingsCannotBeOverridden() {
    ProducerSettings settings =
        new ProducerSettings(
            Map.of(
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
                120_000,
                ProducerConfig.MAX_BLOCK_MS_CONFIG,
                60_000L),
            "relay-1",
            Duration.ofSeconds(15));

    assertThat(settings.config())
        .containsEntry(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 15_000)
        .containsEntry(ProducerConfig.MAX_BLOCK_MS_CONFIG, 10_000L);
  }

  @Test
  void timeoutsFollowTheSendTimeout() {
    ProducerSettings settings = new ProducerSettings(Map.of(), "relay-1", Duration.ofSeconds(4));

    assertThat(settings.config())
        .containsEntry(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 4000)
        .containsEntry(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 3995)
        .containsEntry(ProducerConfig.MAX_BLOCK_MS_CONFIG, 4000L);
    assertThat(settings.deliveryTimeoutMillis()).isEqualTo(4000);
  }

  @Test
  void maxRequestSizeIsKafkasDefaultUnlessTheUserSetsIt() {
    assertThat(new ProducerSettings(Map.of(), "r", Duration.ofSeconds(30)).maxRequestSize())
        .isEqualTo(1048576);
    assertThat(
            new ProducerSettings(
                    Map.of(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, "2000"),
                    "r",
                    Duration.ofSeconds(30))
                .maxRequestSize())
        .isEqualTo(2000);
  }

  @Test
  void theAdminClientGetsTheConnectionAndSecuritySettingsOnly() {
    ProducerSettings settings =
        new ProducerSettings(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                "kafka-1:9092",
                AdminClientConfig.SECURITY_PROTOCOL_CONFIG,
                "SASL_SSL",
                "sasl.mechanism",
                "SCRAM-SHA-512",
                "ssl.truststore.location",
                "/etc/kafka/truststore.p12"),
            "relay-1",
            Duration.ofSeconds(30));

    assertThat(settings.adminConfig())
        .containsEntry(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "kafka-1:9092")
        .containsEntry(AdminClientConfig.SECURITY_PROTOCOL_CONFIG, "SASL_SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
        .containsEntry("ssl.truststore.location", "/etc/kafka/truststore.p12")
        .containsEntry(AdminClientConfig.CLIENT_ID_CONFIG, "relay-1-admin")
        .doesNotContainKeys(
            ProducerConfig.ACKS_CONFIG,
            ProducerConfig.LINGER_MS_CONFIG,
            ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG);
  }
}
