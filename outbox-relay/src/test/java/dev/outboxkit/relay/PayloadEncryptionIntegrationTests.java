package dev.outboxkit.relay;

import static dev.outboxkit.relay.RelayTestSupport.headers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
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

      assertThat(parkedRowText(event)).doesNotContain(PAN);
      assertThat(relay.parkedEvents().list(10).toString()).doesNotContain(PAN);
      assertThat(relay.status().toString()).doesNotContain(PAN);

      kafka.createTopic(type, 1);
      try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), type)) {
        assertThat(relay.parkedEvents().replay(List.of(event.id()))).isOne();
        ConsumerRecord<byte[], byte[]> replayed =
            record(reader.readAtLeast(1, Duration.ofSeconds(60)), event);
        assertThat(replayed.value()).isEqualTo(ciphertext);
        assertThat(headers(replayed))
            .containsEntry(OutboxHeaders.PAYLOAD_ENCODING, TinkPayloadCodec.ENCODING)
            .containsEntry(OutboxHeaders.KEY_ID, codec.primaryKeyId());
        assertThat(
                codec.decode(PayloadCodec.Context.of(event), headers(replayed), replayed.value()))
            .isEqualTo(json("card-parked"));
      }
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

  /** Issue 20: the CDC variant of the test above (see the contract). */
  @Test
  void inCdcModeAParkedEncryptedEventIsKeptWhileOtherKeysFlowAndItsReplayStillDecrypts()
      throws Exception {
    cdcParksAnEncryptedEventItCannotSendAndItsReplayStillDecrypts();
  }
}
