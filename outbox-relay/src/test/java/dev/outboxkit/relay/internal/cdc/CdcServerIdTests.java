package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.cdc.CdcOptions;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The binlog client's replica server id: two engines on one MySQL or MariaDB server must not share
 * one, or the server drops the first when the second connects.
 */
class CdcServerIdTests {

  private static CdcOptions.Builder options(String dialect) {
    return CdcOptions.builder("jdbc:" + dialect + "://db:3306/app", "u", "pw");
  }

  private static String engineServerId(String dialect, CdcOptions options) {
    return CdcEngineConfig.of(
            CdcTestSettings.postgres(null, "server-id-test"),
            options,
            OutboxDialect.named(dialect),
            "binding")
        .getProperty("database.server.id");
  }

  @ParameterizedTest
  @ValueSource(strings = {"mariadb", "mysql"})
  void enginesWithDifferentNamesGetDifferentServerIdsByDefault(String dialect) {
    String orders = engineServerId(dialect, options(dialect).name("orders").build());
    String billing = engineServerId(dialect, options(dialect).name("billing").build());

    assertThat(orders).isNotEqualTo(billing);
  }

  @Test
  void theDefaultIsStableForAName() {
    // Pinned: a release that changed the derivation would move every deployed engine's id.
    assertThat(options("mysql").build().serverId()).isEqualTo(1_284_864_443L);
    assertThat(options("mysql").name("orders").build().serverId())
        .isEqualTo(options("mariadb").name("orders").build().serverId());
  }

  @Test
  void theDefaultStaysInTheDocumentedRangeAboveTheIdsOfHandNumberedReplicas() {
    Set<Long> ids = new HashSet<>();
    IntStream.range(0, 10_000)
        .mapToObj(i -> options("mysql").name("engine_" + i).build().serverId())
        .forEach(
            id -> {
              assertThat(id)
                  .isBetween(
                      RelayDefaults.CDC_DERIVED_SERVER_ID_MIN,
                      RelayDefaults.CDC_DERIVED_SERVER_ID_MAX);
              ids.add(id);
            });
    // 10 000 names in a range of 4.29e9 ids: expected collisions about 0.012.
    assertThat(ids).hasSize(10_000);
  }

  @ParameterizedTest
  @ValueSource(strings = {"mariadb", "mysql"})
  void anExplicitServerIdWins(String dialect) {
    assertThat(engineServerId(dialect, options(dialect).name("orders").serverId(5_401).build()))
        .isEqualTo("5401");
  }
}
