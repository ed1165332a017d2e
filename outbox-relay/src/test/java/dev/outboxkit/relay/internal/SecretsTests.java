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
}
