package dev.outboxkit.chaos;

import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.RelayConfig;
import dev.outboxkit.relay.RelayStatus;
import dev.outboxkit.relay.cdc.CdcOptions;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;

/**
 * One standalone relay, in a JVM of its own that the kit kills with {@code kill -9} or freezes with
 * SIGSTOP: the relay as an application embeds it ({@link OutboxRelay#builder()}), with default
 * settings except the batch size, leases and a dead-letter topic the run states. Arguments: JDBC
 * URL, user, Kafka bootstrap servers, instance id, {@code polling} or {@code cdc}, batch size,
 * lease TTL (ms), heartbeat (ms), CDC engine name, control directory, dead-letter topic. The
 * password comes from the environment variable {@code OUTBOXKIT_CHAOS_PASSWORD}, so it shows in no
 * process list. Kafka client settings beyond the servers (security) come from {@code
 * kafka-client.properties} in the control directory when present. Prints {@code RELAY STARTED <id>}
 * once started.
 *
 * <p>A relay whose publishing thread died fails over (its status says {@code FAILED}); this process
 * then exits with status {@value #FAILED_EXIT}, as a liveness probe would have the pod restarted.
 */
public final class ChaosRelayMain {

  static final String PASSWORD_VARIABLE = "OUTBOXKIT_CHAOS_PASSWORD";
  static final String STARTED = "RELAY STARTED";
  static final String CLIENT_PROPERTIES = "kafka-client.properties";

  /** The exit status of a relay that failed over after a thread died. */
  static final int FAILED_EXIT = 70;

  private ChaosRelayMain() {}

  public static void main(String[] args) throws InterruptedException, IOException {
    if (args.length != 11) {
      throw new IllegalArgumentException(
          "Expected 11 arguments (url user servers id mode batch ttlMs heartbeatMs cdcName"
              + " controlDir deadLetterTopic), got "
              + args.length);
    }
    String url = args[0];
    String user = args[1];
    String password = System.getenv().getOrDefault(PASSWORD_VARIABLE, "");
    String id = args[3];
    Mode mode = Mode.valueOf(args[4].toUpperCase(java.util.Locale.ROOT));
    Path control = Path.of(args[9]);
    ChaosSignals signals = new ChaosSignals(control);
    signals.start();
    Duration ttl = Duration.ofMillis(Long.parseLong(args[6]));
    StarvationWatch starvation =
        StarvationWatch.ofThisJvm(StarvationWatch.limitFor(ttl), signals.pausedByKit());
    starvation.start();
    HikariDataSource dataSource = ChaosEnvironment.pool(url, user, password, "relay-" + id, 4);
    RelayConfig.Builder config =
        RelayConfig.custom()
            .bootstrapServers(args[2])
            .instanceId(id)
            .batchSize(Integer.parseInt(args[5]))
            .leases(ttl, Duration.ofMillis(Long.parseLong(args[7])))
            .deadLetterTopic(args[10]);
    if (mode == Mode.CDC) {
      config.cdc(
          CdcOptions.builder(url, user, password)
              .name(args[8])
              .autoCreate(true)
              .heartbeatInterval(Duration.ofMillis(500))
              .build());
    }
    clientProperties(control).forEach((k, v) -> config.producerProperty((String) k, v));
    OutboxRelay.Builder builder =
        OutboxRelay.builder()
            .dataSource(dataSource)
            .topicRouter(signals.router())
            .config(config.build())
            .meterRegistry(new SimpleMeterRegistry());
    OutboxRelay relay = builder.build();
    relay.start();
    System.out.println(STARTED + " " + id);
    System.out.flush();
    int reported = 0;
    while (true) {
      List<StarvationWatch.Episode> episodes = starvation.episodes();
      for (; reported < episodes.size(); reported++) {
        // The kit reads these lines from the log: a starved relay makes the run invalid.
        System.out.println(
            ChaosSignals.STARVED + " " + episodes.get(reported).describe("relay " + id));
        System.out.flush();
      }
      RelayStatus status = relay.status();
      if (status.state() == RelayStatus.State.FAILED) {
        System.out.println("RELAY FAILED " + id + ": " + status.lastError());
        System.out.flush();
        System.exit(FAILED_EXIT);
      }
      Thread.sleep(100);
    }
  }

  static Properties clientProperties(Path control) throws IOException {
    Properties properties = new Properties();
    Path file = control.resolve(CLIENT_PROPERTIES);
    if (Files.exists(file)) {
      try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        properties.load(reader);
      }
    }
    return properties;
  }
}
