package dev.outboxkit.idempotency.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.outboxkit.idempotency.IdempotencyDefaults;
import dev.outboxkit.idempotency.IdempotencySchema;
import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.idempotency.InvalidIdempotencyKeyException;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * Fuzz test of the inbox's header parsing: records with any {@value OutboxHeaders#EVENT_ID} headers
 * (none, empty, several, any bytes) through {@link KafkaInbox} and a real inbox table (H2 in
 * memory). Kept inputs under {@code KafkaInboxFuzzTestsInputs/}; {@code JAZZER_FUZZ=1} fuzzes
 * (docs/testing.md).
 *
 * <p>Properties: a record whose last id header is 1 to 255 visible ASCII characters is handled once
 * and then skipped as a duplicate; any other record is refused with an {@link
 * InvalidIdempotencyKeyException} whose message is one bounded line (it gets logged), and its
 * handler never runs.
 */
@Tag("fuzz")
class KafkaInboxFuzzTests {

  private static final AtomicInteger consumers = new AtomicInteger();
  private static JdbcTransactions tx;
  private static Inbox inbox;

  @BeforeAll
  static void inboxTable() throws SQLException {
    JdbcDataSource dataSource = new JdbcDataSource();
    dataSource.setURL("jdbc:h2:mem:kafka-inbox-fuzz;DB_CLOSE_DELAY=-1");
    OutboxDialect dialect;
    try (Connection connection = dataSource.getConnection()) {
      dialect = OutboxDialect.detect(connection);
      IdempotencySchema.create(
          connection,
          dialect,
          OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
          OutboxTable.of(IdempotencyDefaults.INBOX_TABLE));
    }
    tx = JdbcTransactions.of(dataSource);
    inbox = Inbox.builder().connectionProvider(tx).dialect(dialect).build();
  }

  @FuzzTest(maxDuration = "60s")
  void handlesValidIdsOnceAndRefusesOthersClearly(FuzzedDataProvider data) {
    ConsumerRecord<String, String> record = new ConsumerRecord<>("payments", 0, 7L, "k", "v");
    int headers = data.consumeInt(0, 3);
    byte[] last = null;
    for (int i = 0; i < headers; i++) {
      last = data.consumeBoolean() ? null : data.consumeBytes(300);
      record.headers().add(OutboxHeaders.EVENT_ID, last);
    }
    // Each input gets its own consumer name, so inputs never see each other's ids.
    KafkaInbox kafkaInbox = KafkaInbox.of(inbox, "fuzz-" + consumers.incrementAndGet());
    boolean valid = last != null && isValidId(last);
    AtomicInteger runs = new AtomicInteger();

    try {
      boolean handled =
          tx.inTransaction(c -> kafkaInbox.process(record, r -> runs.incrementAndGet()));
      assertThat(valid).as("accepted only a valid id").isTrue();
      assertThat(handled).isTrue();
    } catch (InvalidIdempotencyKeyException e) {
      assertThat(valid).as("refused a valid id: " + e.getMessage()).isFalse();
      assertThat(e.getMessage()).startsWith("Invalid idempotency key: ").hasSizeLessThan(600);
      assertThat(e.getMessage().chars().noneMatch(Character::isISOControl))
          .as("one line without control characters: %s", e.getMessage())
          .isTrue();
      assertThat(runs).hasValue(0);
      return;
    }
    assertThat(runs).hasValue(1);
    boolean again = tx.inTransaction(c -> kafkaInbox.process(record, r -> runs.incrementAndGet()));
    assertThat(again).isFalse();
    assertThat(runs).as("a redelivery is skipped").hasValue(1);
  }

  private static boolean isValidId(byte[] value) {
    String id = new String(value, StandardCharsets.UTF_8);
    return !id.isEmpty()
        && id.length() <= IdempotencyDefaults.MAX_KEY_LENGTH
        && id.chars().allMatch(ch -> ch >= 0x21 && ch <= 0x7E);
  }
}
