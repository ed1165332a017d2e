package dev.outboxkit.relay;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;

/**
 * A relay in a JVM of its own, for tests that kill it with {@code kill -9}. Arguments: JDBC URL,
 * user, password, Kafka bootstrap servers, instance id, and optionally a CDC engine name (then it
 * runs in CDC mode). System properties: {@code outboxkit.test.leases} ({@code <ttl>,<heartbeat>}),
 * {@code outboxkit.test.sessionUrl} (direct connections for the session lock and LISTEN) and {@code
 * outboxkit.test.tagSenders} (records carry {@link SenderTags}).
 */
public final class RelayProcessMain {

  private RelayProcessMain() {}

  public static void main(String[] args) throws Exception {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(args[0]);
    config.setUsername(args[1]);
    config.setPassword(args[2]);
    config.setMaximumPoolSize(4);
    HikariDataSource dataSource = new HikariDataSource(config);
    Duration[] leases =
        java.util.Arrays.stream(System.getProperty("outboxkit.test.leases", "2s,250ms").split(","))
            .map(
                v ->
                    v.endsWith("ms")
                        ? Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)))
                        : Duration.ofSeconds(Long.parseLong(v.substring(0, v.length() - 1))))
            .toArray(Duration[]::new);
    TestRelayBuilder builder = TestRelayBuilder.relay();
    if (Boolean.getBoolean("outboxkit.test.tagSenders")) {
      System.setProperty(SenderTags.INSTANCE_PROPERTY, args[4]);
      builder.producerProperty("interceptor.classes", SenderTags.class.getName());
    }
    String sessionUrl = System.getProperty("outboxkit.test.sessionUrl");
    if (sessionUrl != null) {
      HikariConfig session = new HikariConfig();
      session.setJdbcUrl(sessionUrl);
      session.setUsername(args[1]);
      session.setPassword(args[2]);
      session.setMaximumPoolSize(2);
      session.setMinimumIdle(0);
      builder.sessionDataSource(new HikariDataSource(session));
    }
    OutboxRelay relay =
        builder
            .dataSource(dataSource)
            .cdc(
                args.length > 5
                    ? dev.outboxkit.relay.cdc.CdcOptions.builder(args[0], args[1], args[2])
                        .name(args[5])
                        .autoCreate(true)
                        .heartbeatInterval(Duration.ofMillis(500))
                        .build()
                    : null)
            .bootstrapServers(args[3])
            .instanceId(args[4])
            .leases(leases[0], leases[1])
            .pollInterval(Duration.ofMillis(5), Duration.ofMillis(100))
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    relay.start();
    System.out.println("RELAY STARTED " + args[4]);
    System.out.flush();
    Thread.currentThread().join();
  }
}
