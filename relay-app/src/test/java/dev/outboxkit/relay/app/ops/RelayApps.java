package dev.outboxkit.relay.app.ops;

import dev.outboxkit.relay.app.OutboxRelayApplication;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Starts the standalone relay app as an operator would, against real servers, with {@code
 * --property=value} arguments (which win over the app's own application.properties), on random
 * application and management ports.
 */
final class RelayApps {

  private RelayApps() {}

  static ConfigurableApplicationContext start(
      TestDatabase db, KafkaTestBroker kafka, String... extra) {
    return start(db, kafka.bootstrapServers(), extra);
  }

  /** The same against a Kafka cluster of the test's own (e.g. one it stops). */
  static ConfigurableApplicationContext start(
      TestDatabase db, String bootstrapServers, String... extra) {
    return startWith(new Class<?>[0], db, bootstrapServers, extra);
  }

  /** The relay app with configuration classes of the test's own (e.g. its user accounts). */
  static ConfigurableApplicationContext startWith(
      Class<?>[] sources, TestDatabase db, String bootstrapServers, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "--server.port=0",
                "--management.server.port=0",
                "--spring.datasource.url=" + db.jdbcUrl(),
                "--spring.datasource.username=" + db.username(),
                "--spring.datasource.password=" + db.password(),
                "--outbox.relay.kafka.bootstrap-servers=" + bootstrapServers,
                "--outbox.store.auto-create=true",
                "--outbox.relay.auto-create=true",
                "--outbox.relay.polling.metrics-interval=100ms",
                // The embedded servers stop in their own shutdown hooks, maybe before the context
                // closes: do not let the relay's last lease release wait 30 s for a connection.
                "--spring.datasource.hikari.connection-timeout=2000",
                "--outbox.relay.shutdown-timeout=5s"));
    for (String e : extra) {
      args.add("--" + e);
    }
    return new SpringApplicationBuilder(OutboxRelayApplication.class)
        .sources(sources)
        .run(args.toArray(String[]::new));
  }

  static int managementPort(ConfigurableApplicationContext app) {
    return Integer.parseInt(app.getEnvironment().getRequiredProperty("local.management.port"));
  }

  static int serverPort(ConfigurableApplicationContext app) {
    return Integer.parseInt(app.getEnvironment().getRequiredProperty("local.server.port"));
  }

  static String scrape(ConfigurableApplicationContext app) throws Exception {
    HttpResponse<String> response =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://localhost:" + managementPort(app) + "/actuator/prometheus"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IllegalStateException("Scrape answered " + response.statusCode());
    }
    return response.body();
  }
}
