package dev.outboxkit.relay.app;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * The relay on its own: reads the outbox of the database in {@code SPRING_DATASOURCE_URL} and
 * publishes to the Kafka cluster in {@code OUTBOX_RELAY_KAFKA_BOOTSTRAP_SERVERS}. Every {@code
 * outbox.*} property can be set as an environment variable (see docs/relay.md). Health at {@code
 * /actuator/health} (liveness and readiness groups), metrics at {@code /actuator/prometheus}.
 */
@SpringBootApplication
public class OutboxRelayApplication {

  public static void main(String[] args) {
    SpringApplication.run(OutboxRelayApplication.class, args);
  }
}
