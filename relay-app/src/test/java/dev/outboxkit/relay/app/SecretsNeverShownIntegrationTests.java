package dev.outboxkit.relay.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Starts the standalone relay (polling and CDC) with a marker in every secret property and looks
 * for the marker everywhere an operator or attacker could read: every log line from the first to
 * the last (DEBUG for OutboxKit), health details, every exposed actuator endpoint (env and
 * configprops must not be), Prometheus output and metric tags, the {@code toString} of every
 * OutboxKit bean, and the messages of a failed start.
 */
@ServerTest
class SecretsNeverShownIntegrationTests {

  static final String MARKER = "Mk7zq";
  static final TestDatabase db = TestServers.postgres().createDatabase("secrets_app");
  static final KafkaTestBroker kafka = TestServers.kafka();

  private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
  private PrintStream out;
  private PrintStream err;
  private ConfigurableApplicationContext context;

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  @BeforeEach
  void captureEverything() {
    out = System.out;
    err = System.err;
    // Boot's console appender writes through System.out at each line, so this sees every line.
    System.setOut(new PrintStream(new Tee(out, captured), true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(new Tee(err, captured), true, StandardCharsets.UTF_8));
  }

  @AfterEach
  void restore() throws Exception {
    if (context != null) {
      context.close();
    }
    System.setOut(out);
    System.setErr(err);
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
              + " WHERE slot_name = 'secrets_cdc' AND NOT active");
    }
  }

  /** Every secret property of the relay, each with the marker and its own suffix. */
  private List<String> secretProperties() {
    return List.of(
        "spring.datasource.url=" + db.jdbcUrl(),
        "spring.datasource.username=" + db.username(),
        // Embedded PostgreSQL trusts local connections: the password is carried, never checked.
        "spring.datasource.password=" + MARKER + "-datasource",
        "spring.security.user.name=operator",
        "spring.security.user.password=" + MARKER + "-operator",
        "spring.security.user.roles=OUTBOX_OPERATOR",
        "outbox.relay.session-connection.url="
            + db.jdbcUrl()
            + (db.jdbcUrl().contains("?") ? "&" : "?")
            + "password="
            + MARKER
            + "-sessionurl",
        "outbox.relay.session-connection.username=" + db.username(),
        "outbox.relay.session-connection.password=" + MARKER + "-session",
        "outbox.relay.kafka.properties.ssl.key.password=" + MARKER + "-sslkeypassword",
        "outbox.relay.kafka.properties.ssl.keystore.key=" + MARKER + "-keystorekey",
        "outbox.relay.kafka.properties.basic.auth.user.info=registry:" + MARKER + "-userinfo",
        "outbox.relay.kafka.properties.sasl.jaas.config="
            + "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\""
            + " password=\""
            + MARKER
            + "-jaas\";",
        "outbox.relay.kafka.properties.schema.registry.url=https://registry:"
            + MARKER
            + "-urluser@registry.invalid",
        "outbox.relay.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
        "outbox.store.auto-create=true",
        "outbox.relay.auto-create=true",
        "outbox.relay.polling.metrics-interval=100ms",
        "outbox.relay.shutdown-timeout=5s",
        "spring.datasource.hikari.connection-timeout=2000",
        "server.port=0",
        "management.server.port=0",
        "management.endpoints.web.exposure.include=health,prometheus,info,outboxparked,env,configprops",
        "logging.level.dev.outboxkit=DEBUG");
  }

  private ConfigurableApplicationContext start(List<String> properties) {
    // As command-line arguments, so they win over the application's own application.properties.
    context =
        new SpringApplicationBuilder(OutboxRelayApplication.class)
            .run(properties.stream().map(p -> "--" + p).toArray(String[]::new));
    return context;
  }

  @Test
  void pollingRelayShowsNoSecretAnywhere() throws Exception {
    kafka.createTopic("Secret", 1);
    start(secretProperties());
    publishOneEvent();
    assertNoMarkerAnywhere();
  }

  @Test
  void cdcRelayShowsNoSecretAnywhere() throws Exception {
    kafka.createTopic("Secret", 1);
    List<String> properties = new ArrayList<>(secretProperties());
    properties.add("outbox.relay.mode=cdc");
    properties.add("outbox.relay.cdc.name=secrets_cdc");
    properties.add("outbox.relay.cdc.auto-create=true");
    properties.add("outbox.relay.cdc.username=" + db.username());
    properties.add("outbox.relay.cdc.password=" + MARKER + "-cdc");
    properties.add("outbox.relay.cdc.debezium.database.sslpassword=" + MARKER + "-debeziumssl");
    properties.add("logging.level.io.debezium=DEBUG");
    start(properties);
    publishOneEvent();
    assertNoMarkerAnywhere();
  }

  @Test
  void aFailedStartShowsNoSecret() {
    List<String> properties = new ArrayList<>(secretProperties());
    properties.removeIf(p -> p.startsWith("outbox.relay.session-connection.url="));
    properties.add(
        "outbox.relay.session-connection.url=jdbc:nodriver://relay:" + MARKER + "-badurl@db/app");
    assertThatThrownBy(() -> start(properties))
        .satisfies(
            e -> {
              for (Throwable t = e; t != null; t = t.getCause()) {
                assertThat(String.valueOf(t.getMessage())).doesNotContain(MARKER);
              }
            })
        .rootCause()
        .hasMessageContaining("outbox.relay.session-connection.url");
    assertThat(logs()).contains("session-connection.url").doesNotContain(MARKER);
  }

  private void publishOneEvent() {
    Outbox outbox = context.getBean(Outbox.class);
    new TransactionTemplate(context.getBean(PlatformTransactionManager.class))
        .executeWithoutResult(s -> outbox.append("Secret", "s-1", "SecretKept", "{}"));
    MeterRegistry meters = context.getBean(MeterRegistry.class);
    await()
        .atMost(Duration.ofSeconds(90))
        .until(
            () ->
                meters.find("outbox.events.published").counters().stream()
                        .mapToDouble(c -> c.count())
                        .sum()
                    >= 1);
  }

  private void assertNoMarkerAnywhere() throws Exception {
    int port =
        Integer.parseInt(context.getEnvironment().getProperty("local.management.port", "-1"));
    String operator =
        "Basic "
            + Base64.getEncoder()
                .encodeToString(
                    ("operator:" + MARKER + "-operator").getBytes(StandardCharsets.UTF_8));
    List<String> bodies = new ArrayList<>();
    for (String path :
        List.of(
            "/actuator/health",
            "/actuator/health/outboxRelay",
            "/actuator/prometheus",
            "/actuator/info",
            "/actuator/outboxparked",
            "/actuator/env",
            "/actuator/configprops")) {
      HttpResponse<String> response =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                      .header("Authorization", operator)
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      bodies.add(path + " " + response.statusCode() + ": " + response.body());
    }
    assertThat(bodies.get(0)).contains("outboxRelay");
    assertThat(bodies.get(2)).contains("outbox_events_published_total");
    for (String body : bodies) {
      assertThat(body).as(body.substring(0, body.indexOf(':'))).doesNotContain(MARKER);
    }
    for (Meter meter : context.getBean(MeterRegistry.class).getMeters()) {
      assertThat(meter.getId().toString()).doesNotContain(MARKER);
    }
    for (String name : context.getBeanFactory().getSingletonNames()) {
      Object bean = context.getBeanFactory().getSingleton(name);
      if (bean != null && bean.getClass().getName().startsWith("dev.outboxkit")) {
        assertThat(String.valueOf(bean)).as("toString of bean " + name).doesNotContain(MARKER);
      }
    }
    context.close();
    context = null;
    assertThat(logs()).contains("Tomcat started on port").doesNotContain(MARKER);
  }

  private String logs() {
    System.out.flush();
    System.err.flush();
    return captured.toString(StandardCharsets.UTF_8);
  }

  /** Writes to the real stream and to the capture. */
  private static final class Tee extends OutputStream {
    private final OutputStream first;
    private final OutputStream second;

    Tee(OutputStream first, OutputStream second) {
      this.first = first;
      this.second = second;
    }

    @Override
    public synchronized void write(int b) throws java.io.IOException {
      first.write(b);
      second.write(b);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws java.io.IOException {
      first.write(b, off, len);
      second.write(b, off, len);
    }

    @Override
    public void flush() throws java.io.IOException {
      first.flush();
    }
  }
}
