package dev.outboxkit.relay;

import static dev.outboxkit.relay.RelayTestSupport.headers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.crypto.TinkPayloadCodec;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.outbox.spi.PayloadCodec;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/** Payload encryption end to end on PostgreSQL (logical decoding of the WAL). */
class PayloadEncryptionIntegrationTests extends PayloadEncryptionContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension db() {
    return db;
  }

  @Override
  void dropChangeLogState(Statement statement) throws SQLException {
    statement.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
            + " WHERE slot_name IN ('crypto_cdc', 'crypto_cdc_park') AND NOT active");
  }

  /**
   * Issue 20: the polling relay parks an encrypted event it cannot send (its topic does not exist
   * yet). The parked row, the listing, the audit trail, the relay's status and every log line hold
   * no plaintext; a replay once the topic exists sends the stored ciphertext byte for byte, which
   * the consumer's keyset still decrypts (the associated data is the unchanged event id and key).
   */
  @Test
  void aParkedEncryptedEventShowsNoPlaintextAnywhereAndItsReplayStillDecrypts() throws Exception {
    OutboxDialect dialect = RelayTables.create(db().dataSource());
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
    }
    AeadConfig.register();
    TinkPayloadCodec codec =
        TinkPayloadCodec.of(KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM));
    String type = "Parked" + System.nanoTime() % 100_000;
    JdbcTransactions tx = JdbcTransactions.of(db().dataSource());
    Logger root = (Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    root.addAppender(logs);
    try {
      OutboxEvent event = append(tx, dialect, codec, type, "card-parked");
      byte[] ciphertext = storedPayloads(dialect).get(event.id().toString());
      OutboxRelay relay =
          started(
              RelayTestSupport.fastRelay(db().dataSource(), kafka.bootstrapServers())
                  .maxAttempts(1));
      await().atMost(Duration.ofSeconds(60)).until(() -> relay.parkedEvents().count() == 1);

      assertShowsNoPlaintext(relay, event);

      assertReplayIsTheCiphertextAndDecrypts(relay, codec, event, type, ciphertext);
      assertThat(relay.parkedEvents().auditTrail().list(100, null).toString())
          .contains("REPLAY")
          .doesNotContain(PAN);
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

  /**
   * Issue 20, the CDC variant of the test above: in CDC mode an encrypted event that cannot be sent
   * (its topic does not exist) is parked as its stored ciphertext, never dropped, while the next
   * events of other keys flow on; nothing shows the plaintext, and a replay once the topic exists
   * sends the ciphertext byte for byte, which still decrypts. The relay never decrypts, so a
   * tampered ciphertext travels the same way and is caught by the consumer (see the contract test).
   */
  @Test
  void inCdcModeAParkedEncryptedEventIsKeptWhileOtherKeysFlowAndItsReplayStillDecrypts()
      throws Exception {
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
      assertShowsNoPlaintext(relay, parked);
      assertThat(relay.status().state()).isEqualTo(RelayStatus.State.RUNNING);

      assertReplayIsTheCiphertextAndDecrypts(relay, codec, parked, missing, ciphertext);
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
  private String parkedRowText(OutboxEvent event) throws SQLException {
    StringBuilder text = new StringBuilder();
    try (Connection c = db().dataSource().getConnection();
        PreparedStatement s = c.prepareStatement("SELECT * FROM outbox_event WHERE id = ?")) {
      s.setObject(1, event.id());
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

  private static String throwableText(IThrowableProxy proxy) {
    StringBuilder text = new StringBuilder();
    for (IThrowableProxy p = proxy; p != null; p = p.getCause()) {
      text.append(' ').append(p.getClassName()).append(": ").append(p.getMessage());
    }
    return text.toString();
  }

  /** Neither the parked row, nor the parked-event list, nor the relay's status shows the PAN. */
  private void assertShowsNoPlaintext(OutboxRelay relay, OutboxEvent event) throws Exception {
    assertThat(parkedRowText(event)).doesNotContain(PAN);
    assertThat(relay.parkedEvents().list(10).toString()).doesNotContain(PAN);
    assertThat(relay.status().toString()).doesNotContain(PAN);
  }

  /**
   * Replays the parked {@code event} to a {@code topic} made now: the record carries the stored
   * ciphertext and the headers that let a consumer decrypt it to the original payload.
   */
  private void assertReplayIsTheCiphertextAndDecrypts(
      OutboxRelay relay, TinkPayloadCodec codec, OutboxEvent event, String topic, byte[] ciphertext)
      throws Exception {
    kafka.createTopic(topic, 1);
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      assertThat(relay.parkedEvents().replay(List.of(event.id()))).isOne();
      ConsumerRecord<byte[], byte[]> replayed =
          record(reader.readAtLeast(1, Duration.ofSeconds(60)), event);
      assertThat(replayed.value()).isEqualTo(ciphertext);
      assertThat(headers(replayed))
          .containsEntry(OutboxHeaders.PAYLOAD_ENCODING, TinkPayloadCodec.ENCODING)
          .containsEntry(OutboxHeaders.KEY_ID, codec.primaryKeyId());
      assertThat(codec.decode(PayloadCodec.Context.of(event), headers(replayed), replayed.value()))
          .isEqualTo(json("card-parked"));
    }
  }
}
