package dev.outboxkit.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The relay's configuration objects never print a secret. */
class RelayPropertiesSecretsTests {

  private static final String MARKER = "m4rker-s3cret";

  @Test
  void sessionConnectionMasksPasswordsInItsUrl() {
    assertThat(
            new RelayProperties.SessionConnection(
                    "jdbc:postgresql://db:5432/app?user=relay&password=" + MARKER, "relay", MARKER)
                .toString())
        .doesNotContain(MARKER)
        .contains("password=****")
        .contains("username=relay");
    assertThat(
            new RelayProperties.SessionConnection(
                    "jdbc:mysql://relay:" + MARKER + "@db:3306/app", null, null)
                .toString())
        .doesNotContain(MARKER)
        .contains("relay:****@db");
  }

  @Test
  void kafkaAndCdcPropertiesMaskEverySecretProperty() {
    RelayProperties.Kafka kafka =
        new RelayProperties.Kafka(
            null,
            Map.of(
                "ssl.keystore.key", MARKER,
                "basic.auth.user.info", "u:" + MARKER,
                "sasl.jaas.config", "x password=\"" + MARKER + "\";",
                "schema.registry.url", "https://u:" + MARKER + "@registry"),
            null);
    assertThat(kafka.toString()).doesNotContain(MARKER);
  }
}
