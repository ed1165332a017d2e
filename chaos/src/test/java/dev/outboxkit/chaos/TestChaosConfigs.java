package dev.outboxkit.chaos;

import dev.outboxkit.test.DatabaseKind;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The run configuration the kit's unit tests judge their ledgers against: PostgreSQL, two relays,
 * 40 keys, every fault, a lease TTL of 3 s with a 250 ms heartbeat, and the generous drain and run
 * limits of a real run.
 */
final class TestChaosConfigs {

  private TestChaosConfigs() {}

  /** A run of {@code mode} whose relays read {@code batchSize} events at a time. */
  static ChaosConfig postgres(Mode mode, int batchSize) {
    return new ChaosConfig(
        DatabaseKind.POSTGRESQL,
        mode,
        null,
        "",
        "",
        null,
        2,
        40,
        2,
        200,
        KeyLoad.defaults(),
        1,
        Faults.names(),
        1L,
        Duration.ofSeconds(1),
        batchSize,
        Duration.ofSeconds(3),
        Duration.ofMillis(250),
        Duration.ofSeconds(60),
        Duration.ofSeconds(60),
        Duration.ofMinutes(10),
        null,
        Path.of("target", "chaos"));
  }
}
