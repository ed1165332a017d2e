package dev.outboxkit.benchmarks.peers;

import dev.outboxkit.test.TestDatabase;
import io.namastack.outbox.Outbox;
import io.namastack.outbox.OutboxProcessingScheduler;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.annotation.ImportCandidates;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.support.GenericApplicationContext;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * namastack-outbox 1.6.0 as its users run it: a Spring Boot application with the JDBC starter and a
 * Kafka handler ({@link NamastackKafkaHandler}, one send waited for per record), events scheduled
 * with {@code Outbox.schedule(payload, key)} in Spring transactions. Pausing stops its processing
 * scheduler (a {@code SmartLifecycle}), resuming starts it again.
 *
 * <p>Tuned, since its defaults (10 record keys per poll, a poll every 2 s) are made for another
 * load: 500 keys per poll (every key of the workload), a poll every 50 ms, completed records
 * deleted (as every other contender does), {@code linger.ms=0} (each send is waited for before the
 * next).
 */
final class NamastackContender implements Contender {

  static final Map<String, String> TUNING =
      Map.of(
          "namastack.outbox.polling.batch-size", "500",
          "namastack.outbox.polling.trigger", "fixed",
          "namastack.outbox.polling.fixed.interval", "50ms",
          "namastack.outbox.processing.delete-completed-records", "true");

  private final String topic;
  private final int payloadSize;
  private final ConfigurableApplicationContext context;
  private final Outbox outbox;
  private final TransactionTemplate transactions;
  private final OutboxProcessingScheduler scheduler;
  private final KafkaProducer<String, byte[]> producer;

  NamastackContender(TestDatabase db, String bootstrapServers, String topic, int payloadSize) {
    this.topic = topic;
    this.payloadSize = payloadSize;
    Map<String, Object> properties = new LinkedHashMap<>(TUNING);
    properties.put("spring.datasource.url", db.jdbcUrl());
    properties.put("spring.datasource.username", db.username());
    properties.put("spring.datasource.password", db.password());
    properties.put("spring.main.banner-mode", "off");
    properties.put("logging.level.root", "WARN");
    // OutboxKit's starter is on this module's test classpath too (AppendBenchmark's Spring mode);
    // its beans (outboxPayloadSerializer, ...) would clash with namastack's. Spring Modulith's
    // contender is there too: its publication registry and multicaster would take the place of
    // namastack-outbox's. Namastack alone here.
    properties.put(
        "spring.autoconfigure.exclude",
        outboxKitAutoConfigurations()
            + ","
            + String.join(",", ModulithContender.AUTO_CONFIGURATIONS));
    this.producer = Producers.create(bootstrapServers, 0);
    NamastackKafkaHandler handler = new NamastackKafkaHandler(producer, topic);
    this.context =
        new SpringApplicationBuilder(App.class)
            .web(WebApplicationType.NONE)
            .properties(properties)
            // A bean definition, not a singleton: namastack finds handlers with a post-processor.
            .initializers(
                context ->
                    ((GenericApplicationContext) context)
                        .registerBean(
                            "benchmarkKafkaHandler", NamastackKafkaHandler.class, () -> handler))
            .run();
    this.outbox = context.getBean(Outbox.class);
    this.transactions = new TransactionTemplate(context.getBean(PlatformTransactionManager.class));
    this.scheduler = context.getBean(OutboxProcessingScheduler.class);
  }

  @Override
  public String name() {
    return "namastack-outbox 1.6.0, tuned";
  }

  @Override
  public String topic() {
    return topic;
  }

  @Override
  public String settings() {
    return "JDBC starter on Spring Boot, a handler doing what its Kafka module does (one send"
        + " waited for per record, linger.ms=0); "
        + TUNING;
  }

  @Override
  public void fill(int events, int keys, int perTransaction) {
    scheduler.stop();
    String payload = Payloads.of(System.currentTimeMillis(), payloadSize);
    for (int from = 0; from < events; from += perTransaction) {
      int start = from;
      transactions.executeWithoutResult(
          status -> {
            for (int i = start; i < Math.min(events, start + perTransaction); i++) {
              outbox.schedule(payload, "key-" + i % keys);
            }
          });
    }
  }

  @Override
  public void resume() {
    scheduler.start();
  }

  @Override
  public void pause() {
    scheduler.stop();
  }

  @Override
  public void appendOne(String key, String payload) {
    transactions.executeWithoutResult(status -> outbox.schedule(payload, key));
  }

  @Override
  public void close() {
    context.close();
    producer.close();
  }

  /** OutboxKit's auto-configurations on the classpath, comma-separated. */
  private static String outboxKitAutoConfigurations() {
    return ImportCandidates.load(AutoConfiguration.class, NamastackContender.class.getClassLoader())
        .getCandidates()
        .stream()
        .filter(name -> name.startsWith("dev.outboxkit."))
        .collect(Collectors.joining(","));
  }

  /** The application namastack-outbox runs in: auto-configuration only. */
  @SpringBootConfiguration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  static class App {}
}
