package dev.outboxkit.relay.app;

import dev.outboxkit.relay.app.cli.OperatorCli;
import java.io.PrintWriter;
import java.nio.charset.Charset;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * The relay on its own: reads the outbox of the database in {@code SPRING_DATASOURCE_URL} and
 * publishes to the Kafka cluster in {@code OUTBOX_RELAY_KAFKA_BOOTSTRAP_SERVERS}. Every {@code
 * outbox.*} property can be set as an environment variable (see docs/relay.md). Health at {@code
 * /actuator/health} (liveness and readiness groups), metrics at {@code /actuator/prometheus}.
 *
 * <p>With a command as first argument ({@code status}, {@code leases}, {@code check}, {@code parked
 * ...}, {@code help}) the jar runs the operator CLI instead, with the same configuration, and exits
 * with its code (docs/operations.md).
 */
@SpringBootApplication
public class OutboxRelayApplication {

  public static void main(String[] args) {
    if (OperatorCli.handles(args)) {
      Charset charset = Charset.defaultCharset();
      int code =
          OperatorCli.run(
              args,
              new PrintWriter(new java.io.OutputStreamWriter(System.out, charset), true),
              new PrintWriter(new java.io.OutputStreamWriter(System.err, charset), true),
              System.getenv());
      System.exit(code);
    }
    SpringApplication.run(OutboxRelayApplication.class, args);
  }
}
