package dev.outboxkit.benchmarks.peers;

import dev.outboxkit.test.TestDatabase;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadPoolExecutor;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.support.GenericApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.kafka.KafkaException;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.core.ProducerFactory;
import org.springframework.kafka.support.SendResult;
import org.springframework.kafka.support.converter.RecordMessageConverter;
import org.springframework.messaging.Message;
import org.springframework.modulith.events.EventExternalizationConfiguration;
import org.springframework.modulith.events.Externalized;
import org.springframework.modulith.events.IncompleteEventPublications;
import org.springframework.modulith.events.RoutingTarget;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Spring Modulith 2.0.3's event externalization as its users run it: a Spring Boot application with
 * the JDBC event publication registry ({@code spring-modulith-starter-jdbc}) and the Kafka
 * externalization ({@code spring-modulith-events-kafka}); {@link Event}s annotated
 * {@code @Externalized} published with {@code ApplicationEventPublisher} in Spring transactions.
 * Each publication is a row; after commit the library's externalizer (an asynchronous transactional
 * listener on Boot's task executor) marks it processing, sends it with the {@code KafkaTemplate},
 * waits for the send and deletes the row (completion mode {@code delete}, as every other contender
 * deletes what it sent).
 *
 * <p>Pausing is a broker outage: the {@code KafkaTemplate}'s sends fail at once (rather than after
 * {@code delivery.timeout.ms}), so every publication made while paused is tried once after commit,
 * fails and is left incomplete ({@code FAILED}) by the library. Resuming lets sends through and
 * calls the library's own recovery, {@code
 * IncompleteEventPublications.resubmitIncompletePublications(all)}, which marks each publication
 * resubmitted and hands it to the externalizer again. Modulith has no poller of its own that picks
 * up a backlog; the other way is {@code republish-outstanding-events-on-restart} at startup.
 *
 * <p>Library defaults otherwise (JSON values, Boot's task executor of 8 threads), except {@code
 * linger.ms=0}: each send is waited for before the thread takes the next, as with the other
 * contenders that wait per send. The event is mapped to its payload for the record value (a JSON
 * string: the payload in quotes) and routed to this contender's topic with its key.
 */
final class ModulithContender implements Contender {

  /** Auto-configurations this application leaves out: namastack-outbox's, on the same classpath. */
  static final List<String> OTHER_LIBRARIES =
      List.of(
          "io.namastack.outbox.OutboxJacksonAutoConfiguration",
          "io.namastack.outbox.config.OutboxCoreInfrastructureAutoConfiguration",
          "io.namastack.outbox.config.OutboxCoreThreadingAutoConfiguration",
          "io.namastack.outbox.config.OutboxCoreProcessingAutoConfiguration",
          "io.namastack.outbox.config.OutboxCoreSchedulingAutoConfiguration",
          "io.namastack.outbox.config.OutboxCoreMulticasterAutoConfiguration",
          "io.namastack.outbox.config.JdbcOutboxAutoConfiguration",
          "io.namastack.outbox.config.JdbcOutboxSchemaAutoConfiguration");

  /** Modulith's auto-configurations (and Boot's Kafka one it brings), for other applications. */
  static final List<String> AUTO_CONFIGURATIONS =
      List.of(
          "org.springframework.modulith.events.kafka.KafkaEventExternalizerConfiguration",
          "org.springframework.modulith.events.kafka.KafkaJackson2Configuration",
          "org.springframework.modulith.events.kafka.KafkaJacksonConfiguration",
          "org.springframework.modulith.core.config.ApplicationModuleInitializerRuntimeVerification",
          "org.springframework.modulith.events.jackson.JacksonEventSerializationConfiguration",
          "org.springframework.modulith.events.jackson2.Jackson2EventSerializationConfiguration",
          "org.springframework.modulith.events.config.EventPublicationAutoConfiguration",
          "org.springframework.modulith.events.config.EventExternalizationAutoConfiguration",
          "org.springframework.modulith.moments.autoconfigure.MomentsAutoConfiguration",
          "org.springframework.modulith.events.jdbc.JdbcEventPublicationAutoConfiguration",
          "org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration");

  static final Map<String, String> SETTINGS =
      Map.of(
          "spring.modulith.events.jdbc.schema-initialization.enabled", "true",
          "spring.modulith.events.completion-mode", "delete",
          "spring.kafka.producer.properties.linger.ms", "0");

  private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(120);

  private final String topic;
  private final int payloadSize;
  private final ConfigurableApplicationContext context;
  private final TransactionTemplate transactions;
  private final IncompleteEventPublications incomplete;
  private final JdbcTemplate jdbc;
  private final ThreadPoolExecutor executor;
  private final BrokerOutage outage;
  private Thread resubmitter;

  ModulithContender(TestDatabase db, String bootstrapServers, String topic, int payloadSize) {
    this.topic = topic;
    this.payloadSize = payloadSize;
    Map<String, Object> properties = new LinkedHashMap<>(SETTINGS);
    properties.put("spring.datasource.url", db.jdbcUrl());
    properties.put("spring.datasource.username", db.username());
    properties.put("spring.datasource.password", db.password());
    properties.put("spring.kafka.bootstrap-servers", bootstrapServers);
    properties.put("spring.autoconfigure.exclude", String.join(",", OTHER_LIBRARIES));
    // OutboxKit's starter is on the benchmarks' classpath too.
    properties.put("outbox.enabled", "false");
    properties.put("spring.main.banner-mode", "off");
    properties.put("logging.level.root", "WARN");
    // One error line per failed send during the outage (the listener adapter logs the failed
    // future); the library records each failure in the publication's status.
    properties.put("logging.level.org.springframework.modulith.events.config", "OFF");
    EventExternalizationConfiguration externalization =
        EventExternalizationConfiguration.externalizing()
            .select(EventExternalizationConfiguration.annotatedAsExternalized())
            .route(Event.class, e -> RoutingTarget.forTarget(topic).andKey(e.key()))
            .mapping(Event.class, Event::payload)
            .build();
    this.context =
        new SpringApplicationBuilder(App.class)
            .web(WebApplicationType.NONE)
            .properties(properties)
            .initializers(
                context ->
                    ((GenericApplicationContext) context)
                        .registerBean(
                            "eventExternalizationConfiguration",
                            EventExternalizationConfiguration.class,
                            () -> externalization))
            .run();
    this.transactions = new TransactionTemplate(context.getBean(PlatformTransactionManager.class));
    this.incomplete = context.getBean(IncompleteEventPublications.class);
    this.jdbc = context.getBean(JdbcTemplate.class);
    this.executor =
        context
            .getBean("applicationTaskExecutor", ThreadPoolTaskExecutor.class)
            .getThreadPoolExecutor();
    this.outage = context.getBean(BrokerOutage.class);
  }

  @Override
  public String name() {
    return "Spring Modulith 2.0.3 externalization";
  }

  @Override
  public String topic() {
    return topic;
  }

  @Override
  public String settings() {
    return "JDBC publication registry on Spring Boot, Kafka externalization (KafkaTemplate, JSON),"
        + " Boot's task executor (8 threads), send waited for (linger.ms=0); backlog made by"
        + " failing sends (outage), drained by"
        + " IncompleteEventPublications.resubmitIncompletePublications; "
        + SETTINGS;
  }

  @Override
  public void fill(int events, int keys, int perTransaction) {
    outage.start();
    String payload = Payloads.of(System.currentTimeMillis(), payloadSize);
    for (int from = 0; from < events; from += perTransaction) {
      int start = from;
      transactions.executeWithoutResult(
          status -> {
            for (int i = start; i < Math.min(events, start + perTransaction); i++) {
              context.publishEvent(new Event("key-" + i % keys, payload));
            }
          });
    }
    // Every publication has had its one try and is recorded as failed.
    awaitSettled("FAILED");
  }

  @Override
  public void resume() {
    outage.end();
    resubmitter =
        new Thread(
            () -> incomplete.resubmitIncompletePublications(publication -> true),
            "peers-modulith-resubmit");
    resubmitter.start();
  }

  @Override
  public void pause() {
    if (resubmitter != null) {
      try {
        resubmitter.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the resubmission", e);
      }
      resubmitter = null;
    }
    awaitSettled(null);
    outage.start();
  }

  @Override
  public void appendOne(String key, String payload) {
    transactions.executeWithoutResult(status -> context.publishEvent(new Event(key, payload)));
  }

  @Override
  public void close() {
    context.close();
  }

  /**
   * Waits until the externalizer's threads are idle and every publication left has {@code status}
   * (none left when null): the library's state, read from its table and executor.
   */
  private void awaitSettled(String status) {
    long deadline = System.nanoTime() + SETTLE_TIMEOUT.toNanos();
    while (true) {
      boolean idle = executor.getActiveCount() == 0 && executor.getQueue().isEmpty();
      Integer others =
          status == null
              ? jdbc.queryForObject("SELECT count(*) FROM event_publication", Integer.class)
              : jdbc.queryForObject(
                  "SELECT count(*) FROM event_publication WHERE status IS NULL OR status <> ?",
                  Integer.class,
                  status);
      if (idle && others != null && others == 0) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            others + " publications not " + (status == null ? "completed" : status));
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for publications", e);
      }
    }
  }

  /** The event: externalized by annotation, stored in the registry as JSON. */
  @Externalized
  record Event(String key, String payload) {}

  /** The broker outage: while on, every send fails at once, as a send to an unreachable broker. */
  static final class BrokerOutage {

    private static final KafkaException UNAVAILABLE =
        new KafkaException("broker unavailable (benchmark outage)");

    private volatile boolean on;

    void start() {
      on = true;
    }

    void end() {
      on = false;
    }

    <T> CompletableFuture<T> failIfOn() {
      return on ? CompletableFuture.failedFuture(UNAVAILABLE) : null;
    }
  }

  /**
   * Boot's {@code KafkaTemplate}, with the message converter Modulith configures, and the outage.
   */
  static final class OutageKafkaTemplate extends KafkaTemplate<Object, Object> {

    private final BrokerOutage outage;

    OutageKafkaTemplate(ProducerFactory<Object, Object> producers, BrokerOutage outage) {
      super(producers);
      this.outage = outage;
    }

    @Override
    public CompletableFuture<SendResult<Object, Object>> send(Message<?> message) {
      CompletableFuture<SendResult<Object, Object>> failed = outage.failIfOn();
      return failed != null ? failed : super.send(message);
    }
  }

  /** The application Modulith runs in: auto-configuration and the outage switch. */
  @SpringBootConfiguration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  static class App {

    @Bean
    BrokerOutage brokerOutage() {
      return new BrokerOutage();
    }

    @Bean
    OutageKafkaTemplate kafkaTemplate(
        ProducerFactory<Object, Object> producers,
        ObjectProvider<RecordMessageConverter> converter,
        BrokerOutage outage) {
      OutageKafkaTemplate template = new OutageKafkaTemplate(producers, outage);
      converter.ifUnique(template::setMessageConverter);
      return template;
    }
  }
}
