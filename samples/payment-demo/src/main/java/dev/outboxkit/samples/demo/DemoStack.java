package dev.outboxkit.samples.demo;

import dev.outboxkit.samples.ledger.LedgerServiceApplication;
import dev.outboxkit.samples.payment.PaymentServiceApplication;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.listener.MessageListenerContainer;

/**
 * The servers and services of the payment flow in one JVM: PostgreSQL and Kafka (embedded unless
 * configured), the ledger service and the payment service, each with its own database and context.
 * The relay runs inside the payment service, or in processes of its own ({@link RelayProcess}).
 *
 * <p>Configuration by environment variable: {@code KAFKA_BOOTSTRAP_SERVERS}, {@code
 * PAYMENT_DB_URL}/{@code _USERNAME}/{@code _PASSWORD}, {@code LEDGER_DB_URL}/{@code
 * _USERNAME}/{@code _PASSWORD}, {@code PAYMENT_PORT} (8080), {@code LEDGER_PORT} (8081), {@code
 * LEDGER_GROUP_ID} (the ledger's consumer group, {@value #LEDGER_GROUP_ID} as in the ledger
 * service).
 */
public final class DemoStack implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(DemoStack.class);

  /** The ledger service's own consumer group ({@code spring.kafka.consumer.group-id}). */
  public static final String LEDGER_GROUP_ID = "ledger";

  /** A database the services connect to. */
  public record Database(String url, String username, String password) {}

  /**
   * How to start the stack.
   *
   * @param ledgerGroupId the ledger's Kafka consumer group: stacks that share a broker and topic
   *     (two tests in one JVM) each need their own, or they split the topic's partitions and one
   *     resumes from the other's committed offsets
   */
  public record Settings(
      String kafka,
      Database paymentDb,
      Database ledgerDb,
      int paymentPort,
      int ledgerPort,
      boolean relayInApp,
      String ledgerGroupId) {

    /** These settings with the ledger in consumer group {@code groupId}. */
    public Settings withLedgerGroupId(String groupId) {
      return new Settings(kafka, paymentDb, ledgerDb, paymentPort, ledgerPort, relayInApp, groupId);
    }

    /** Embedded servers unless the environment names external ones. */
    public static Settings fromEnvironment(boolean relayInApp, boolean randomPorts) {
      return new Settings(
          env("KAFKA_BOOTSTRAP_SERVERS", null) != null
              ? env("KAFKA_BOOTSTRAP_SERVERS", null)
              : TestServers.kafka().bootstrapServers(),
          database("PAYMENT_DB", "payments"),
          database("LEDGER_DB", "ledger"),
          randomPorts ? 0 : Integer.parseInt(env("PAYMENT_PORT", "8080")),
          randomPorts ? 0 : Integer.parseInt(env("LEDGER_PORT", "8081")),
          relayInApp,
          env("LEDGER_GROUP_ID", LEDGER_GROUP_ID));
    }
  }

  private final Settings settings;
  private final List<AutoCloseable> resources = new ArrayList<>();
  private final ConfigurableApplicationContext ledger;
  private final ConfigurableApplicationContext payments;

  private DemoStack(Settings settings, Class<?>... sources) {
    this.settings = settings;
    this.ledger =
        run(
            LedgerServiceApplication.application().sources(sources),
            settings.ledgerDb(),
            settings.ledgerPort(),
            Map.of(
                "spring.kafka.bootstrap-servers", settings.kafka(),
                "spring.kafka.consumer.group-id", settings.ledgerGroupId()));
    resources.add(ledger);
    awaitLedgerConsumer(ledger);
    this.payments =
        run(
            PaymentServiceApplication.application().sources(sources),
            settings.paymentDb(),
            settings.paymentPort(),
            Map.of(
                "spring.kafka.bootstrap-servers", settings.kafka(),
                "outbox.relay.enabled", String.valueOf(settings.relayInApp())));
    resources.add(payments);
  }

  /** Starts the ledger, then the payment service (the ledger creates the payment topic). */
  public static DemoStack start(Settings settings) {
    return new DemoStack(settings);
  }

  /**
   * {@link #start(Settings)} with configuration classes added to both services' contexts (a test's
   * tracing set-up, for example).
   */
  public static DemoStack start(Settings settings, Class<?>... sources) {
    return new DemoStack(settings, sources);
  }

  public Settings settings() {
    return settings;
  }

  public String paymentUrl() {
    return "http://localhost:" + payments.getEnvironment().getProperty("local.server.port");
  }

  public String ledgerUrl() {
    return "http://localhost:" + ledger.getEnvironment().getProperty("local.server.port");
  }

  public ConfigurableApplicationContext payments() {
    return payments;
  }

  public ConfigurableApplicationContext ledger() {
    return ledger;
  }

  @Override
  public void close() {
    for (int i = resources.size() - 1; i >= 0; i--) {
      try {
        resources.get(i).close();
      } catch (Exception e) {
        log.warn("Could not close {}", resources.get(i), e);
      }
    }
  }

  /**
   * Waits until the ledger's consumers were given their partitions, so the first events do not wait
   * for the consumer group to form (seconds on a new group).
   */
  private static void awaitLedgerConsumer(ConfigurableApplicationContext ledger) {
    MessageListenerContainer container =
        ledger.getBean(KafkaListenerEndpointRegistry.class).getListenerContainer("ledger");
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (container != null && System.nanoTime() < deadline) {
      var assigned = container.getAssignedPartitions();
      if (assigned != null && !assigned.isEmpty()) {
        return;
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    log.warn("The ledger's consumer has no partitions yet; the first events will wait for it");
  }

  private static ConfigurableApplicationContext run(
      SpringApplicationBuilder application, Database db, int port, Map<String, String> extra) {
    List<String> args = new ArrayList<>();
    // Command-line arguments win over environment variables such as SPRING_DATASOURCE_URL, so the
    // two services never end up on one database by accident.
    args.add("--spring.datasource.url=" + db.url());
    args.add("--spring.datasource.username=" + db.username());
    args.add("--spring.datasource.password=" + db.password());
    args.add("--server.port=" + port);
    extra.forEach((k, v) -> args.add("--" + k + "=" + v));
    return application.run(args.toArray(String[]::new));
  }

  /** Embedded databases made in this JVM: two stacks in one JVM (tests) must not share one. */
  private static final AtomicInteger EMBEDDED_DATABASES = new AtomicInteger();

  private static Database database(String prefix, String embeddedName) {
    String url = env(prefix + "_URL", null);
    if (url != null) {
      return new Database(url, env(prefix + "_USERNAME", ""), env(prefix + "_PASSWORD", ""));
    }
    // A fresh embedded database per run, dropped at exit, so runs never see each other's rows.
    TestDatabase db =
        TestServers.postgres()
            .createDatabase(
                embeddedName
                    + "_"
                    + ProcessHandle.current().pid()
                    + "_"
                    + EMBEDDED_DATABASES.incrementAndGet());
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    db.close();
                  } catch (RuntimeException e) {
                    // The embedded server may already be stopping; its data directory goes too.
                  }
                },
                "demo-drop-" + embeddedName));
    return new Database(db.jdbcUrl(), db.username(), db.password());
  }

  private static @Nullable String env(String name, @Nullable String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }
}
