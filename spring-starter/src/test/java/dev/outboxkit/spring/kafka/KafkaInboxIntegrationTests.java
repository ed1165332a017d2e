package dev.outboxkit.spring.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.idempotency.IdempotencySchema;
import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.idempotency.kafka.KafkaInbox;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.spring.SpringConnectionProvider;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.listener.BatchMessageListener;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.KafkaMessageListenerContainer;
import org.springframework.kafka.listener.MessageListener;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The consumer inbox with Spring Kafka listener containers on a real broker and PostgreSQL: every
 * event is delivered twice (as a relay retry would), the consumer is stopped and restarted mid-way
 * and switched from a single-record to a batch listener, and finally a new group replays the whole
 * topic. Each event must be booked exactly once.
 */
@ServerTest
class KafkaInboxIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final int EVENTS = 1000;

  private final JdbcTemplate jdbc = new JdbcTemplate(db.dataSource());
  private final TransactionTemplate transactions =
      new TransactionTemplate(new DataSourceTransactionManager(db.dataSource()));
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  @Test
  void eachEventIsBookedOnceAcrossDuplicatesRestartsAndReplays() throws Exception {
    try (Connection connection = db.dataSource().getConnection()) {
      IdempotencySchema.create(
          connection,
          OutboxDialect.postgresql(),
          OutboxTable.of("idempotency_key"),
          OutboxTable.of("inbox_message"));
    }
    jdbc.execute("CREATE TABLE ledger (event_id VARCHAR(64) NOT NULL, amount BIGINT NOT NULL)");
    KafkaInbox inbox =
        KafkaInbox.of(
            Inbox.builder()
                .connectionProvider(new SpringConnectionProvider(db.dataSource()))
                .dialect(OutboxDialect.postgresql())
                .meterRegistry(meters)
                .build(),
            "ledger");

    KafkaTestBroker kafka = TestServers.kafka();
    String topic = "payments-" + UUID.randomUUID();
    kafka.createTopic(topic, 3);
    publishEachEventTwice(kafka, topic);

    AtomicInteger seen = new AtomicInteger();
    // Phase 1: a single-record listener, stopped part-way: what it processed but had not
    // committed to Kafka yet is delivered again.
    KafkaMessageListenerContainer<String, String> single =
        container(
            kafka,
            topic,
            "ledger",
            (MessageListener<String, String>)
                record -> {
                  seen.incrementAndGet();
                  transactions.executeWithoutResult(status -> inbox.process(record, this::book));
                });
    single.start();
    await(() -> ledger() >= 300, "300 bookings by the first listener");
    single.stop();

    // Phase 2: the same group continues with a batch listener until every event is booked.
    KafkaMessageListenerContainer<String, String> batch =
        container(
            kafka,
            topic,
            "ledger",
            (BatchMessageListener<String, String>)
                records -> {
                  seen.addAndGet(records.size());
                  transactions.executeWithoutResult(
                      status -> inbox.processAll(records, this::book));
                });
    batch.start();
    await(() -> ledger() == EVENTS, "all events booked");
    batch.stop();

    // Phase 3: a new group reads the whole topic again, as after an offset reset.
    AtomicInteger replayed = new AtomicInteger();
    KafkaMessageListenerContainer<String, String> replay =
        container(
            kafka,
            topic,
            "ledger-replay",
            (BatchMessageListener<String, String>)
                records -> {
                  transactions.executeWithoutResult(
                      status -> inbox.processAll(records, this::book));
                  replayed.addAndGet(records.size());
                });
    replay.start();
    await(() -> replayed.get() == 2 * EVENTS, "the replay to read all records");
    replay.stop();

    assertThat(ledger()).isEqualTo(EVENTS);
    assertThat(jdbc.queryForObject("SELECT count(DISTINCT event_id) FROM ledger", Integer.class))
        .isEqualTo(EVENTS);
    assertThat(jdbc.queryForObject("SELECT sum(amount) FROM ledger", Long.class))
        .isEqualTo((long) EVENTS * (EVENTS - 1) / 2);
    double duplicates = meters.counter("outbox.inbox.duplicates", "consumer", "ledger").count();
    System.out.printf(
        "[inbox] %d events x2 delivered, %d records seen before the replay, %d replayed;"
            + " %.0f duplicates skipped, %d booked%n",
        EVENTS, seen.get(), replayed.get(), duplicates, ledger());
    // Every record handed to a listener was either booked (once per event) or skipped as a
    // duplicate.
    assertThat(duplicates).isEqualTo(seen.get() + replayed.get() - EVENTS);
    assertThat(replayed.get()).isEqualTo(2 * EVENTS);
  }

  private void book(ConsumerRecord<String, String> record) {
    jdbc.update(
        "INSERT INTO ledger (event_id, amount) VALUES (?, ?)",
        new String(
            record.headers().lastHeader(OutboxHeaders.EVENT_ID).value(), StandardCharsets.UTF_8),
        Long.parseLong(record.value()));
  }

  private int ledger() {
    return jdbc.queryForObject("SELECT count(*) FROM ledger", Integer.class);
  }

  private static void publishEachEventTwice(KafkaTestBroker kafka, String topic) throws Exception {
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(
            Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
                true,
                ProducerConfig.ACKS_CONFIG,
                "all"),
            new StringSerializer(),
            new StringSerializer())) {
      for (int copy = 0; copy < 2; copy++) {
        for (int i = 0; i < EVENTS; i++) {
          ProducerRecord<String, String> record =
              new ProducerRecord<>(topic, "account-" + (i % 37), Integer.toString(i));
          record
              .headers()
              .add(OutboxHeaders.EVENT_ID, ("event-" + i).getBytes(StandardCharsets.UTF_8));
          producer.send(record);
        }
      }
      producer.flush();
    }
  }

  private static KafkaMessageListenerContainer<String, String> container(
      KafkaTestBroker kafka, String topic, String group, Object listener) {
    DefaultKafkaConsumerFactory<String, String> consumers =
        new DefaultKafkaConsumerFactory<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG,
                group,
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest",
                ConsumerConfig.MAX_POLL_RECORDS_CONFIG,
                50),
            new StringDeserializer(),
            new StringDeserializer());
    ContainerProperties properties = new ContainerProperties(topic);
    properties.setMessageListener(listener);
    return new KafkaMessageListenerContainer<>(consumers, properties);
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("Timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }
}
