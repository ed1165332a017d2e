package dev.outboxkit.samples.quickstart;

import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;

/**
 * Orders written together with their events. Without {@code SPRING_DATASOURCE_URL} it starts an
 * embedded PostgreSQL first, so {@code ./mvnw -pl samples/quickstart -am compile spring-boot:run}
 * needs nothing installed.
 */
@SpringBootApplication
public class QuickstartApplication {

  private static final Logger log = LoggerFactory.getLogger(QuickstartApplication.class);

  public static void main(String[] args) {
    useEmbeddedPostgresUnlessConfigured(args);
    SpringApplication.run(QuickstartApplication.class, args);
  }

  /** Points Spring at a fresh embedded PostgreSQL database unless a DataSource URL is given. */
  static void useEmbeddedPostgresUnlessConfigured(String[] args) {
    boolean configured =
        System.getenv("SPRING_DATASOURCE_URL") != null
            || System.getProperty("spring.datasource.url") != null
            || java.util.Arrays.stream(args).anyMatch(a -> a.startsWith("--spring.datasource.url"));
    if (configured) {
      return;
    }
    // A fresh database per run, dropped at exit, so runs against a shared server never collide.
    TestDatabase database =
        TestServers.postgres().createDatabase("quickstart_" + ProcessHandle.current().pid());
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    database.close();
                  } catch (RuntimeException e) {
                    // The embedded server may already be stopping; its data directory goes with it.
                  }
                },
                "quickstart-drop-database"));
    System.setProperty("spring.datasource.url", database.jdbcUrl());
    System.setProperty("spring.datasource.username", database.username());
    System.setProperty("spring.datasource.password", database.password());
    log.info("No SPRING_DATASOURCE_URL given: using {}", database);
  }

  @EventListener(ApplicationReadyEvent.class)
  void printHowToTryIt(ApplicationReadyEvent ready) {
    Environment env = ready.getApplicationContext().getEnvironment();
    String base = "http://localhost:" + env.getProperty("local.server.port", "8080");
    log.info(
        """

        OutboxKit quickstart is running on {} (database: {}). Try:
          curl -s -X POST {}/orders -H 'Content-Type: application/json' \\
               -d '{"customer":"alice","amountMinor":1250}'
          curl -s {}/outbox          # the events waiting for the relay
        Stop with Ctrl+C.
        """,
        base,
        env.getProperty("spring.datasource.url"),
        base,
        base);
  }
}
