package dev.outboxkit.spring.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import dev.outboxkit.idempotency.IdempotencySchema;
import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.idempotency.kafka.KafkaInbox;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.PayloadIntegrityException;
import dev.outboxkit.outbox.crypto.TinkPayloadCodec;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.outbox.spi.PayloadCodec;
import dev.outboxkit.spring.SpringConnectionProvider;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.DeadLetterPublishingRecoverer;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.listener.KafkaMessageListenerContainer;
import org.springframework.kafka.listener.MessageListener;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.util.backoff.FixedBackOff;

/**
 * A consumer of encrypted events with the inbox in a Spring Kafka listener container on a real
 * broker and PostgreSQL: good records are booked in plaintext; a tampered one fails naming its
 * event, is never marked processed, and is parked on the dead-letter topic as it arrived (still
 * ciphertext) while the partition moves on.
 */
@ServerTest
class EncryptedInboxParkingIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private final JdbcTemplate jdbc = new JdbcTemplate(db.dataSource());
  private final TransactionTemplate transactions =
      new TransactionTemplate(new DataSourceTransactionManager(db.dataSource()));

  @Test
  void aTamperedRecordIsParkedNeverDroppedAndTheOthersAreBookedInPlaintext() throws Exception {
    try (Connection connection = db.dataSource().getConnection()) {
      IdempotencySchema.create(
          connection,
          OutboxDialect.postgresql(),
          OutboxTable.of("idempotency_key"),
          OutboxTable.of("inbox_message"));
    }
    jdbc.execute("CREATE TABLE card_ledger (event_id VARCHAR(64) NOT NULL, body TEXT NOT NULL)");
    AeadConfig.register();
    TinkPayloadCodec codec =
        TinkPayloadCodec.of(KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM));
    KafkaInbox inbox =
        KafkaInbox.of(
            Inbox.builder()
                .connectionProvider(new SpringConnectionProvider(db.dataSource()))
                .dialect(OutboxDialect.postgresql())
                .meterRegistry(new SimpleMeterRegistry())
                .build(),
            "cards");
    KafkaTestBroker kafka = TestServers.kafka();
    String topic = "cards-" + UUID.randomUUID();
    String deadLetters = topic + "-parked";
    kafka.createTopic(topic, 1);
    kafka.createTopic(deadLetters, 1);

    UUID first = UUID.randomUUID();
    UUID tampered = UUID.randomUUID();
    UUID last = UUID.randomUUID();
    byte[] tamperedValue;
    try (KafkaProducer<String, byte[]> producer =
        new KafkaProducer<>(
            Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
            new StringSerializer(),
            new ByteArraySerializer())) {
      producer.send(encrypted(codec, topic, first, false));
      ProducerRecord<String, byte[]> bad = encrypted(codec, topic, tampered, true);
      tamperedValue = bad.value();
      producer.send(bad);
      producer.send(encrypted(codec, topic, last, false));
      producer.flush();
    }

    KafkaTemplate<String, byte[]> template =
        new KafkaTemplate<>(
            new DefaultKafkaProducerFactory<>(
                Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                new StringSerializer(),
                new ByteArraySerializer()));
    DefaultErrorHandler parking =
        new DefaultErrorHandler(
            new DeadLetterPublishingRecoverer(
                template, (record, e) -> new TopicPartition(deadLetters, 0)),
            new FixedBackOff(100, 5));
    // Retrying cannot fix a failed authentication: park at once.
    parking.addNotRetryableExceptions(PayloadIntegrityException.class);
    ContainerProperties properties = new ContainerProperties(topic);
    properties.setMessageListener(
        (MessageListener<String, byte[]>)
            record ->
                transactions.executeWithoutResult(
                    s ->
                        inbox.processDecoded(
                            codec,
                            record,
                            decoded ->
                                jdbc.update(
                                    "INSERT INTO card_ledger (event_id, body) VALUES (?, ?)",
                                    header(decoded, OutboxHeaders.EVENT_ID),
                                    new String(decoded.value(), StandardCharsets.UTF_8)))));
    KafkaMessageListenerContainer<String, byte[]> container =
        new KafkaMessageListenerContainer<>(
            new DefaultKafkaConsumerFactory<>(
                Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                    kafka.bootstrapServers(),
                    ConsumerConfig.GROUP_ID_CONFIG,
                    "cards",
                    ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                    "earliest"),
                new StringDeserializer(),
                new ByteArrayDeserializer()),
            properties);
    container.setCommonErrorHandler(parking);
    container.start();
    try {
      await()
          .atMost(Duration.ofSeconds(120))
          .until(() -> jdbc.queryForObject("SELECT count(*) FROM card_ledger", Integer.class) == 2);
    } finally {
      container.stop();
    }

    assertThat(jdbc.queryForList("SELECT event_id, body FROM card_ledger ORDER BY body"))
        .extracting(row -> row.get("event_id") + " " + row.get("body"))
        .containsExactlyInAnyOrder(first + " " + body(first), last + " " + body(last));
    assertThat(
            jdbc.queryForObject(
                "SELECT count(*) FROM inbox_message WHERE message_id = ?",
                Integer.class,
                tampered.toString()))
        .as("the tampered record is never marked processed")
        .isZero();

    List<ConsumerRecord<String, byte[]>> parked = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer =
        new KafkaConsumer<>(
            Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ConsumerConfig.GROUP_ID_CONFIG,
                "parked-reader",
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
                "earliest"),
            new StringDeserializer(),
            new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(deadLetters));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (parked.isEmpty() && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(parked::add);
      }
    }
    assertThat(parked).hasSize(1);
    ConsumerRecord<String, byte[]> record = parked.get(0);
    assertThat(header(record, OutboxHeaders.EVENT_ID)).isEqualTo(tampered.toString());
    assertThat(record.value()).as("parked as it arrived: ciphertext").isEqualTo(tamperedValue);
    assertThat(header(record, "kafka_dlt-exception-message"))
        .contains("event " + tampered)
        .contains("failed authentication");
  }

  private static ProducerRecord<String, byte[]> encrypted(
      PayloadCodec codec, String topic, UUID eventId, boolean tamper) {
    PayloadCodec.Context context = new PayloadCodec.Context(eventId, "Card", "card-" + eventId);
    PayloadCodec.Encoded encoded =
        codec.encode(context, body(eventId).getBytes(StandardCharsets.UTF_8));
    byte[] value = encoded.payload().clone();
    if (tamper) {
      value[value.length - 3] ^= 0x01;
    }
    // The record the relay sends: key = aggregate id, the outbox headers, then the event's own.
    ProducerRecord<String, byte[]> record =
        new ProducerRecord<>(topic, context.aggregateId(), value);
    record.headers().add(OutboxHeaders.EVENT_ID, utf8(eventId.toString()));
    record.headers().add(OutboxHeaders.EVENT_TYPE, utf8("CardStored"));
    record.headers().add(OutboxHeaders.AGGREGATE_TYPE, utf8("Card"));
    encoded.headers().forEach((name, v) -> record.headers().add(name, utf8(v)));
    return record;
  }

  private static String body(UUID eventId) {
    return "{\"event\":\"" + eventId + "\",\"pan\":\"4111111111111111\"}";
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static String header(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
  }
}
