package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.relay.cdc.CdcOptions;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SecretsTests {

  @Test
  void cdcOptionsNeverPrintTheirPasswordOrSecretDebeziumProperties() {
    CdcOptions options =
        CdcOptions.builder("jdbc:postgresql://db:5432/app?password=s3cr3t-url", "cdc", "s3cr3t")
            .debeziumProperty("database.sslpassword", "s3cr3t-ssl")
            .debeziumProperty("snapshot.mode", "initial")
            .build();
    assertThat(options.toString())
        .doesNotContain("s3cr3t")
        .contains("password=****")
        .contains("snapshot.mode=initial");
  }

  @Test
  void secretProducerPropertiesAndUrlPasswordsAreMasked() {
    String jaas =
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\""
            + " password=\"s3cr3t\";";
    assertThat(
            Secrets.masked(
                Map.of(
                    "sasl.jaas.config", jaas,
                    "ssl.key.password", "s3cr3t",
                    "compression.type", "lz4")))
        .containsEntry("sasl.jaas.config", Secrets.MASK)
        .containsEntry("ssl.key.password", Secrets.MASK)
        .containsEntry("compression.type", "lz4");
    assertThat(Secrets.maskedUrl("jdbc:mysql://db/app?user=u&password=s3cr3t&ssl=true"))
        .isEqualTo("jdbc:mysql://db/app?user=u&password=****&ssl=true");
  }

  @Test
  void keyMaterialRegistryCredentialsAndJaasAreSecretWhateverTheirPrefix() {
    assertThat(Secrets.isSecret("ssl.keystore.key")).isTrue();
    assertThat(Secrets.isSecret("producer.override.ssl.keystore.key")).isTrue();
    assertThat(Secrets.isSecret("basic.auth.user.info")).isTrue();
    assertThat(Secrets.isSecret("schema.registry.basic.auth.user.info")).isTrue();
    assertThat(Secrets.isSecret("sasl.jaas.config")).isTrue();
    assertThat(Secrets.isSecret("database.sslkey")).isFalse();
    assertThat(Secrets.isSecret("ssl.keystore.location")).isFalse();
    assertThat(Secrets.isSecret("key.converter")).isFalse();
    assertThat(
            Secrets.masked(
                Map.of(
                    "ssl.keystore.key", "-----BEGIN PRIVATE KEY----- s3cr3t",
                    "basic.auth.user.info", "user:s3cr3t")))
        .containsEntry("ssl.keystore.key", Secrets.MASK)
        .containsEntry("basic.auth.user.info", Secrets.MASK);
  }

  @Test
  void userInfoInUrlsIsMasked() {
    assertThat(Secrets.maskedUrl("jdbc:mysql://app:s3cr3t@db:3306/app?ssl=true"))
        .isEqualTo("jdbc:mysql://app:****@db:3306/app?ssl=true");
    assertThat(Secrets.maskedUrl("http://registry-user:s3cr3t@registry:8081"))
        .isEqualTo("http://registry-user:****@registry:8081");
    assertThat(Secrets.maskedUrl("jdbc:postgresql://db:5432/app?user=u&sslpassword=s3cr3t"))
        .doesNotContain("s3cr3t");
    assertThat(Secrets.maskedUrl("jdbc:postgresql://db:5432/app?user=u"))
        .isEqualTo("jdbc:postgresql://db:5432/app?user=u");
  }

  @Test
  void secretValuesInsideAPropertyValueAreMasked() {
    // A URL-valued property (schema registry, OAuth token endpoint) can carry credentials too.
    assertThat(Secrets.masked(Map.of("schema.registry.url", "https://u:s3cr3t@registry:8081")))
        .containsEntry("schema.registry.url", "https://u:****@registry:8081");
  }
}
