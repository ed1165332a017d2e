package dev.outboxkit.relay;

import static dev.outboxkit.relay.RelayTestSupport.headers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import dev.outboxkit.idempotency.IdempotencySchema;
import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.idempotency.kafka.KafkaInbox;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.PayloadIntegrityException;
import dev.outboxkit.outbox.crypto.TinkPayloadCodec;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.outbox.spi.PayloadCodec;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.relay.spi.TopicRouter;
import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import dev.outboxkit.test.TestServers;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Payload encryption end to end on a real database and broker: the outbox column and the Kafka
 * value are ciphertext, the polling relay and the CDC relay deliver them unchanged without the key,
 * a consumer inbox with the keyset reads plaintext (across a key rotation), and a tampered record
 * fails naming its event and leaves no trace in the inbox. One subclass per database (the shared
 * servers): the column types, the change log (WAL, binlog) and its decoding differ.
 */
@ServerTest
abstract class PayloadEncryptionContractTests {

  abstract TestDatabaseExtension db();

  /** Drops what the CDC engine left on the server (a PostgreSQL replication slot). */
  void dropChangeLogState(Statement statement) throws java.sql.SQLException {}

  static final KafkaTestBroker kafka = TestServers.kafka();

  static final String PAN = "4111111111111111";

  final List<OutboxRelay> relays = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    relays.forEach(OutboxRelay::close);
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement()) {
      dropChangeLogState(s);
    }
  }

  @Test
  void bothRelaysDeliverCiphertextUnchangedAndTheInboxReadsPlaintextAcrossARotation()
      throws Exception {
    OutboxDialect dialect = RelayTables.create(db().dataSource());
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement()) {
      CdcSchema.create(c, dialect, OutboxTable.of("outbox_cdc_state"));
      IdempotencySchema.create(
          c, dialect, OutboxTable.of("idempotency_key"), OutboxTable.of("inbox_message"));
      s.execute("DELETE FROM outbox_event");
    }
    AeadConfig.register();
    KeysetHandle firstKeys = KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM);
    KeysetHandle rotatedKeys =
        KeysetHandle.newBuilder(firstKeys)
            .addEntry(
                KeysetHandle.generateEntryFromParameters(PredefinedAeadParameters.AES256_GCM)
                    .withRandomId()
                    .makePrimary())
            .build();
    TinkPayloadCodec before = TinkPayloadCodec.of(firstKeys);
    TinkPayloadCodec after = TinkPayloadCodec.of(rotatedKeys);
    String type = "Card" + System.nanoTime() % 100_000;
    kafka.createTopic("poll-" + type, 2);
    kafka.createTopic("cdc-" + type, 2);
    JdbcTransactions tx = JdbcTransactions.of(db().dataSource());

    // Polling: one event under the first key, one under the rotated key.
    OutboxEvent old = append(tx, dialect, before, type, "card-1");
    OutboxEvent rotated = append(tx, dialect, after, type, "card-2");
    Map<String, byte[]> stored = storedPayloads(dialect);
    assertThat(stored).hasSize(2);
    stored.values().forEach(payload -> assertThat(text(payload)).doesNotContain(PAN));
    OutboxRelay polling =
        started(
            TestRelayBuilder.relay()
                .dataSource(db().dataSource())
                .bootstrapServers(kafka.bootstrapServers())
                .topicRouter(TopicRouter.prefixed("poll-"))
                .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
                .pollInterval(Duration.ofMillis(5), Duration.ofMillis(100))
                .meterRegistry(new SimpleMeterRegistry()));
    List<ConsumerRecord<byte[], byte[]>> viaPolling;
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), "poll-" + type)) {
      viaPolling = reader.readAtLeast(2, Duration.ofSeconds(60));
    }
    polling.close();
    assertUnchangedCiphertext(viaPolling, stored);
    assertThat(headers(record(viaPolling, old)))
        .containsEntry(OutboxHeaders.KEY_ID, before.primaryKeyId())
        .containsEntry(OutboxHeaders.PAYLOAD_ENCODING, TinkPayloadCodec.ENCODING);
    assertThat(headers(record(viaPolling, rotated)))
        .containsEntry(OutboxHeaders.KEY_ID, after.primaryKeyId());

    // CDC: the same bytes come out of the change log.
    OutboxRelay cdc =
        started(
            TestRelayBuilder.relay()
                .dataSource(db().dataSource())
                .bootstrapServers(kafka.bootstrapServers())
                .topicRouter(TopicRouter.prefixed("cdc-"))
                .cdc(
                    CdcOptions.builder(
                            db().database().jdbcUrl(),
                            db().database().username(),
                            db().database().password())
                        .name("crypto_cdc")
                        .autoCreate(true)
                        .heartbeatInterval(Duration.ofMillis(500))
                        .build())
                .leases(Duration.ofSeconds(2), Duration.ofMillis(250))
                .meterRegistry(new SimpleMeterRegistry()));
    OutboxEvent captured = append(tx, dialect, after, type, "card-3");
    List<ConsumerRecord<byte[], byte[]>> viaCdc;
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), "cdc-" + type)) {
      viaCdc = reader.readAtLeast(1, Duration.ofSeconds(90));
    }
    assertThat(cdc.status().lastError()).isNull();
    byte[] cdcValue = record(viaCdc, captured).value();
    assertThat(text(cdcValue)).doesNotContain(PAN);
    assertThat(
            after.decode(
                dev.outboxkit.outbox.spi.PayloadCodec.Context.of(captured),
                headers(record(viaCdc, captured)),
                cdcValue))
        .isEqualTo(json("card-3"));

    // The consumer inbox with the rotated keyset reads every event in plaintext.
    KafkaInbox inbox =
        KafkaInbox.of(
            Inbox.builder()
                .connectionProvider(tx)
                .dialect(dialect)
                .meterRegistry(new SimpleMeterRegistry())
                .build(),
            "ledger");
    Map<String, String> seen = new LinkedHashMap<>();
    List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>(viaPolling);
    all.add(record(viaCdc, captured));
    for (ConsumerRecord<byte[], byte[]> r : all) {
      tx.execute(
          c -> inbox.processDecoded(after, r, d -> seen.put(text(d.key()), text(d.value()))));
    }
    assertThat(seen)
        .containsEntry("card-1", text(json("card-1")))
        .containsEntry("card-2", text(json("card-2")))
        .containsEntry("card-3", text(json("card-3")));

    // A tampered record: a clear error naming the event, no id in the inbox, no handler run.
    ConsumerRecord<byte[], byte[]> original = record(viaPolling, old);
    byte[] flipped = original.value().clone();
    flipped[flipped.length / 2] ^= 0x20;
    ConsumerRecord<byte[], byte[]> tampered =
        new ConsumerRecord<>(
            original.topic(),
            original.partition(),
            original.offset() + 1000,
            original.timestamp(),
            original.timestampType(),
            original.serializedKeySize(),
            flipped.length,
            original.key(),
            flipped,
            new org.apache.kafka.common.header.internals.RecordHeaders(
                original.headers().toArray()),
            original.leaderEpoch());
    String inboxId = old.id() + "-replayed";
    KafkaInbox byCustomId =
        KafkaInbox.of(
            Inbox.builder()
                .connectionProvider(tx)
                .dialect(dialect)
                .meterRegistry(new SimpleMeterRegistry())
                .build(),
            "ledger",
            r -> inboxId);
    List<String> handled = new ArrayList<>();
    assertThatThrownBy(
            () ->
                tx.execute(
                    c -> byCustomId.processDecoded(after, tampered, d -> handled.add("ran"))))
        .isInstanceOf(PayloadIntegrityException.class)
        .hasMessageContaining("event " + old.id())
        .hasMessageContaining("failed authentication");
    assertThat(handled).isEmpty();
    try (Connection c = db().dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement("SELECT count(*) FROM inbox_message WHERE message_id = ?")) {
      s.setString(1, inboxId);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        assertThat(rs.getInt(1)).as("a tampered record is never marked processed").isZero();
      }
    }
  }

  OutboxRelay started(TestRelayBuilder builder) {
    OutboxRelay relay = builder.build();
    relays.add(relay);
    relay.start();
    return relay;
  }

  static OutboxEvent append(
      JdbcTransactions tx,
      OutboxDialect dialect,
      TinkPayloadCodec codec,
      String type,
      String card) {
    Outbox outbox =
        Outbox.builder().connectionProvider(tx).dialect(dialect).payloadCodec(codec).build();
    return tx.inTransaction(
        c ->
            outbox.append(
                OutboxMessage.of(
                    type, card, "CardStored", new String(json(card), StandardCharsets.UTF_8))));
  }

  static byte[] json(String card) {
    return ("{\"card\":\"" + card + "\",\"pan\":\"" + PAN + "\"}").getBytes(StandardCharsets.UTF_8);
  }

  Map<String, byte[]> storedPayloads(OutboxDialect dialect) throws Exception {
    Map<String, byte[]> stored = new LinkedHashMap<>();
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT id, payload FROM outbox_event ORDER BY seq")) {
      while (rs.next()) {
        stored.put(dialect.getUuid(rs, "id").toString(), rs.getBytes(2));
      }
    }
    return stored;
  }

  private static void assertUnchangedCiphertext(
      List<ConsumerRecord<byte[], byte[]>> records, Map<String, byte[]> stored) {
    for (ConsumerRecord<byte[], byte[]> r : records) {
      String id = headers(r).get(OutboxHeaders.EVENT_ID);
      assertThat(text(r.value())).doesNotContain(PAN);
      assertThat(Arrays.equals(r.value(), stored.get(id)))
          .as("the Kafka value of %s is the stored ciphertext, byte for byte", id)
          .isTrue();
    }
  }

  static ConsumerRecord<byte[], byte[]> record(
      List<ConsumerRecord<byte[], byte[]>> records, OutboxEvent event) {
    return records.stream()
        .filter(r -> event.id().toString().equals(headers(r).get(OutboxHeaders.EVENT_ID)))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no record of event " + event.id()));
  }

  static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.ISO_8859_1);
  }

  /**
   * Issue 20, the CDC variant of the polling park test: in CDC mode an encrypted event that cannot
   * be sent (its topic does not exist) is parked as its stored ciphertext, never dropped, while the
   * next events of other keys flow on; nothing shows the plaintext, and a replay once the topic
   * exists sends the ciphertext byte for byte, which still decrypts. The relay never decrypts, so a
   * tampered ciphertext travels the same way and is caught by the consumer ({@link
   * #bothRelaysDeliverCiphertextUnchangedAndTheInboxReadsPlaintextAcrossARotation}). Run by the
   * PostgreSQL (WAL), MariaDB and MySQL 8 (binlog, each with its own connector) subclasses.
   */
  void cdcParksAnEncryptedEventItCannotSendAndItsReplayStillDecrypts() throws Exception {
    OutboxDialect dialect = RelayTables.create(db().dataSource());
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement()) {
      dev.outboxkit.relay.cdc.CdcSchema.create(
          c, dialect, dev.outboxkit.outbox.OutboxTable.of("outbox_cdc_state"));
      s.execute("DELETE FROM outbox_event");
    }
    AeadConfig.register();
    TinkPayloadCodec codec =
        TinkPayloadCodec.of(KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM));
    long suffix = System.nanoTime() % 100_000;
    String missing = "CdcParked" + suffix;
    String flowing = "CdcFlowing" + suffix;
    kafka.createTopic(flowing, 1);
    JdbcTransactions tx = JdbcTransactions.of(db().dataSource());
    Logger root = (Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    root.addAppender(logs);
    try {
      OutboxRelay relay =
          started(
              RelayTestSupport.fastRelay(db().dataSource(), kafka.bootstrapServers())
                  .maxAttempts(3)
                  .retryBackoff(Duration.ofMillis(100), 2.0, Duration.ofSeconds(1))
                  .cdc(
                      dev.outboxkit.relay.cdc.CdcOptions.builder(
                              db().database().jdbcUrl(),
                              db().database().username(),
                              db().database().password())
                          // Not crypto_cdc: the state table keeps that engine's offset, whose slot
                          // the other test drops when it ends.
                          .name("crypto_cdc_park")
                          .autoCreate(true)
                          .deletePublished(false)
                          .heartbeatInterval(Duration.ofMillis(500))
                          .build()));
      OutboxEvent parked = append(tx, dialect, codec, missing, "card-parked");
      List<OutboxEvent> next = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        next.add(append(tx, dialect, codec, flowing, "card-next-" + i));
      }
      byte[] ciphertext = storedPayloads(dialect).get(parked.id().toString());

      try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), flowing)) {
        List<ConsumerRecord<byte[], byte[]>> flowed = reader.readAtLeast(3, Duration.ofSeconds(90));
        for (OutboxEvent event : next) {
          ConsumerRecord<byte[], byte[]> r = record(flowed, event);
          assertThat(codec.decode(PayloadCodec.Context.of(event), headers(r), r.value()))
              .isEqualTo(json(event.aggregateId()));
        }
      }
      await().atMost(Duration.ofSeconds(60)).until(() -> relay.parkedEvents().count() == 1);
      assertThat(relay.parkedEvents().list(10).get(0).id()).isEqualTo(parked.id());
      assertThat(storedPayloads(dialect).get(parked.id().toString()))
          .as("the parked row keeps the ciphertext")
          .isEqualTo(ciphertext);
      assertThat(parkedRowText(parked)).doesNotContain(PAN);
      assertThat(relay.parkedEvents().list(10).toString()).doesNotContain(PAN);
      assertThat(relay.status().toString()).doesNotContain(PAN);
      assertThat(relay.status().state()).isEqualTo(RelayStatus.State.RUNNING);

      kafka.createTopic(missing, 1);
      try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), missing)) {
        assertThat(relay.parkedEvents().replay(List.of(parked.id()))).isOne();
        ConsumerRecord<byte[], byte[]> replayed =
            record(reader.readAtLeast(1, Duration.ofSeconds(60)), parked);
        assertThat(replayed.value()).isEqualTo(ciphertext);
        assertThat(headers(replayed))
            .containsEntry(OutboxHeaders.PAYLOAD_ENCODING, TinkPayloadCodec.ENCODING)
            .containsEntry(OutboxHeaders.KEY_ID, codec.primaryKeyId());
        assertThat(
                codec.decode(PayloadCodec.Context.of(parked), headers(replayed), replayed.value()))
            .isEqualTo(json("card-parked"));
      }
    } finally {
      root.detachAppender(logs);
    }
    List<String> leaks = new ArrayList<>();
    for (ILoggingEvent e : List.copyOf(logs.list)) {
      String line = e.getFormattedMessage() + throwableText(e.getThrowableProxy());
      if (line.contains(PAN)) {
        leaks.add(line);
      }
    }
    assertThat(leaks).as("log lines quoting the plaintext").isEmpty();
  }

  /** Every column of the event's row, as text (binary columns decoded byte for byte). */
  String parkedRowText(OutboxEvent event) throws SQLException {
    StringBuilder text = new StringBuilder();
    try (Connection c = db().dataSource().getConnection();
        PreparedStatement s = c.prepareStatement("SELECT * FROM outbox_event WHERE id = ?")) {
      OutboxDialect.detect(c).setUuid(s, 1, event.id());
      try (ResultSet rs = s.executeQuery()) {
        assertThat(rs.next()).as("the parked row").isTrue();
        for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
          Object value = rs.getObject(i);
          text.append(rs.getMetaData().getColumnName(i))
              .append('=')
              .append(value instanceof byte[] bytes ? text(bytes) : String.valueOf(value))
              .append('\n');
        }
      }
    }
    assertThat(text).contains("DEAD");
    return text.toString();
  }

  static String throwableText(IThrowableProxy proxy) {
    StringBuilder text = new StringBuilder();
    for (IThrowableProxy p = proxy; p != null; p = p.getCause()) {
      text.append(' ').append(p.getClassName()).append(": ").append(p.getMessage());
    }
    return text.toString();
  }
}
