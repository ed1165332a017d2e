package dev.outboxkit.samples.payment;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;

/**
 * The payment service on its own: needs {@code SPRING_DATASOURCE_URL} and {@code
 * SPRING_KAFKA_BOOTSTRAP_SERVERS}. {@code samples/payment-demo} starts it with embedded servers.
 */
@SpringBootApplication
public class PaymentServiceApplication {

  public static void main(String[] args) {
    application().run(args);
  }

  /**
   * The application, reading {@code payment-service.properties} rather than {@code
   * application.properties}, so it can share a JVM and class path with the other sample service.
   */
  public static SpringApplicationBuilder application() {
    return new SpringApplicationBuilder(PaymentServiceApplication.class)
        .properties("spring.config.name=payment-service");
  }
}
