package dev.outboxkit.relay.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.spi.OutboxDialect;
import java.util.Properties;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The engine properties that decide how much work and waiting each change costs. */
class CdcEngineConfigTests {

  private static Properties config(String dialect, String url) {
    CdcOptions options = CdcOptions.builder(url, "u", "pw").build();
    return CdcEngineConfig.of(
        CdcTestSettings.postgres(null, "config-test"),
        options,
        OutboxDialect.named(dialect),
        "binding");
  }

  private static Properties config(String dialect) {
    return config(
        dialect,
        dialect.equals("postgresql")
            ? "jdbc:postgresql://db:5432/app"
            : "jdbc:" + dialect + "://db:3306/app");
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "mysql"})
  void skipsTheRelaysOwnUpdatesAndDeletesInsideTheConnector(String dialect) {
    assertThat(config(dialect).getProperty("skipped.operations")).isEqualTo("u,d,t");
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "mysql"})
  void anEngineBatchIsAtMostOneRelayBatchSoACrashResendsAtMostOneBatch(String dialect) {
    // CdcTestSettings: batch size 100.
    assertThat(config(dialect).getProperty("max.batch.size")).isEqualTo("100");
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "mysql"})
  void aChangeWaitsAtMostAMillisecondForABatchToFill(String dialect) {
    assertThat(config(dialect).getProperty("poll.interval.ms")).isEqualTo("1");
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgresql", "mariadb", "mysql"})
  void aUsersDebeziumPropertyStillWins(String dialect) {
    CdcOptions options =
        CdcOptions.builder(
                dialect.equals("postgresql")
                    ? "jdbc:postgresql://db:5432/app"
                    : "jdbc:" + dialect + "://db:3306/app",
                "u",
                "pw")
            .debeziumProperty("skipped.operations", "t")
            .debeziumProperty("poll.interval.ms", "250")
            .build();
    Properties p =
        CdcEngineConfig.of(
            CdcTestSettings.postgres(null, "config-test"),
            options,
            OutboxDialect.named(dialect),
            "binding");
    assertThat(p.getProperty("skipped.operations")).isEqualTo("t");
    assertThat(p.getProperty("poll.interval.ms")).isEqualTo("250");
  }
}
