package dev.outboxkit.chaos;

import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.cdc.CdcOptions;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;

/**
 * One standalone relay, in a JVM of its own that the kit kills with {@code kill -9} or freezes with
 * SIGSTOP: the relay as an application embeds it ({@link OutboxRelay#builder()}), with default
 * settings except the batch size and leases the run states. Arguments: JDBC URL, user, Kafka
 * bootstrap servers, instance id, {@code polling} or {@code cdc}, batch size, lease TTL (ms),
 * heartbeat (ms), CDC engine name. The password comes from the environment variable {@code
 * OUTBOXKIT_CHAOS_PASSWORD}, so it shows in no process list. Prints {@code RELAY STARTED <id>} once
 * started.
 */
public final class ChaosRelayMain {

  static final String PASSWORD_VARIABLE = "OUTBOXKIT_CHAOS_PASSWORD";
  static final String STARTED = "RELAY STARTED";

  private ChaosRelayMain() {}

  public static void main(String[] args) throws InterruptedException {
    if (args.length != 9) {
      throw new IllegalArgumentException(
          "Expected 9 arguments (url user servers id mode batch ttlMs heartbeatMs cdcName), got "
              + args.length);
    }
    String url = args[0];
    String user = args[1];
    String password = System.getenv().getOrDefault(PASSWORD_VARIABLE, "");
    String id = args[3];
    Mode mode = Mode.valueOf(args[4].toUpperCase(java.util.Locale.ROOT));
    HikariDataSource dataSource = ChaosEnvironment.pool(url, user, password, "relay-" + id, 4);
    OutboxRelay relay =
        OutboxRelay.builder()
            .dataSource(dataSource)
            .bootstrapServers(args[2])
            .instanceId(id)
            .batchSize(Integer.parseInt(args[5]))
            .leases(
                Duration.ofMillis(Long.parseLong(args[6])),
                Duration.ofMillis(Long.parseLong(args[7])))
            .cdc(
                mode == Mode.CDC
                    ? CdcOptions.builder(url, user, password)
                        .name(args[8])
                        .autoCreate(true)
                        .heartbeatInterval(Duration.ofMillis(500))
                        .build()
                    : null)
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    relay.start();
    System.out.println(STARTED + " " + id);
    System.out.flush();
    Thread.currentThread().join();
  }
}
