package dev.outboxkit.samples.ledger;

import org.apache.kafka.clients.admin.NewTopic;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.annotation.Bean;
import org.springframework.kafka.config.TopicBuilder;

/**
 * The ledger service on its own: needs {@code SPRING_DATASOURCE_URL} and {@code
 * SPRING_KAFKA_BOOTSTRAP_SERVERS}. {@code samples/payment-demo} starts it with embedded servers.
 */
@SpringBootApplication
public class LedgerServiceApplication {

  public static void main(String[] args) {
    application().run(args);
  }

  /** Creates the payment topic when missing (8 partitions; order is per payment id). */
  @Bean
  NewTopic paymentTopic(@Value("${ledger.topic}") String topic) {
    return TopicBuilder.name(topic).partitions(8).replicas(1).build();
  }

  /**
   * The application, reading {@code ledger-service.properties} rather than {@code
   * application.properties}, so it can share a JVM and class path with the other sample service.
   */
  public static SpringApplicationBuilder application() {
    return new SpringApplicationBuilder(LedgerServiceApplication.class)
        .properties("spring.config.name=ledger-service");
  }
}
