package dev.outboxkit.samples.ledger;

import dev.outboxkit.outbox.OutboxHeaders;
import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import tools.jackson.databind.json.JsonMapper;

/**
 * Double-entry booking of payment events. Accounts: {@code payer:<id>} (what a payer owes: debited
 * on authorization, credited back on refund), {@code merchant:<id>:pending} (authorized, not yet
 * captured) and {@code merchant:<id>:available}. Every entry is one debit line and one credit line
 * of the same amount, so the sum of all balances is always zero.
 */
@Service
public class Ledger {

  /** The fields the ledger reads from every payment event. */
  record PaymentEvent(
      String paymentId, String payer, String merchant, long amountMinor, String currency) {}

  private final JdbcTemplate jdbc;
  private final JsonMapper json;
  private final Clock clock = Clock.systemUTC();

  public Ledger(JdbcTemplate jdbc, JsonMapper json) {
    this.jdbc = jdbc;
    this.json = json;
  }

  /**
   * Books one event in the caller's transaction. An event that does not fit the payment's state (a
   * capture before its authorization) is refused with an exception: with per-key ordering it never
   * happens, and if it did the transaction rolls back and the batch is retried.
   */
  public void book(ConsumerRecord<String, byte[]> record) {
    String type = header(record, OutboxHeaders.EVENT_TYPE);
    PaymentEvent event = json.readValue(record.value(), PaymentEvent.class);
    String payer = "payer:" + event.payer();
    String pending = "merchant:" + event.merchant() + ":pending";
    String available = "merchant:" + event.merchant() + ":available";
    switch (type) {
      case "PaymentAuthorized" -> {
        transition(event.paymentId(), null, "AUTHORIZED", type);
        entry(record, type, event, payer, pending);
      }
      case "PaymentCaptured" -> {
        transition(event.paymentId(), "AUTHORIZED", "CAPTURED", type);
        entry(record, type, event, pending, available);
      }
      case "PaymentRefunded" -> {
        transition(event.paymentId(), "CAPTURED", "REFUNDED", type);
        entry(record, type, event, available, payer);
      }
      default -> {
        // Other event types of the payment topic are not the ledger's business.
      }
    }
  }

  private void transition(String paymentId, String from, String to, String type) {
    int changed =
        from == null
            ? jdbc.update(
                "INSERT INTO ledger_payment (payment_id, state) VALUES (?, ?)", paymentId, to)
            : jdbc.update(
                "UPDATE ledger_payment SET state = ? WHERE payment_id = ? AND state = ?",
                to,
                paymentId,
                from);
    if (changed != 1) {
      List<String> state =
          jdbc.queryForList(
              "SELECT state FROM ledger_payment WHERE payment_id = ?", String.class, paymentId);
      throw new IllegalStateException(
          type + " for payment " + paymentId + " in state " + state + ": expected " + from);
    }
  }

  private void entry(
      ConsumerRecord<String, byte[]> record,
      String type,
      PaymentEvent event,
      String debited,
      String credited) {
    String entryId = UUID.randomUUID().toString();
    String eventId = header(record, OutboxHeaders.EVENT_ID);
    Timestamp eventTime = Timestamp.from(Instant.ofEpochMilli(record.timestamp()));
    Timestamp bookedAt = Timestamp.from(clock.instant().truncatedTo(ChronoUnit.MICROS));
    String sql =
        "INSERT INTO ledger_line (id, entry_id, event_id, event_type, payment_id, account,"
            + " debit_minor, credit_minor, currency, event_time, booked_at)"
            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    jdbc.batchUpdate(
        sql,
        List.of(
            new Object[] {
              UUID.randomUUID().toString(),
              entryId,
              eventId,
              type,
              event.paymentId(),
              debited,
              event.amountMinor(),
              0L,
              event.currency(),
              eventTime,
              bookedAt
            },
            new Object[] {
              UUID.randomUUID().toString(),
              entryId,
              eventId,
              type,
              event.paymentId(),
              credited,
              0L,
              event.amountMinor(),
              event.currency(),
              eventTime,
              bookedAt
            }));
  }

  private static String header(ConsumerRecord<?, ?> record, String name) {
    Header header = record.headers().lastHeader(name);
    if (header == null) {
      throw new IllegalArgumentException("Record without header " + name + ": " + record);
    }
    return new String(header.value(), StandardCharsets.UTF_8);
  }
}
