package dev.outboxkit.samples.payment;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.samples.payment.Payment.Status;
import dev.outboxkit.samples.payment.PaymentEvents.PaymentAuthorized;
import dev.outboxkit.samples.payment.PaymentEvents.PaymentCaptured;
import dev.outboxkit.samples.payment.PaymentEvents.PaymentRefunded;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/**
 * Payments and their events: every change of a payment row appends its event to the outbox in the
 * same transaction, so the row and the event commit together or not at all.
 */
@Service
public class PaymentService {

  private static final RowMapper<Payment> ROW =
      (rs, n) ->
          new Payment(
              rs.getString("id"),
              rs.getString("payer"),
              rs.getString("merchant"),
              rs.getLong("amount_minor"),
              rs.getString("currency"),
              Status.valueOf(rs.getString("status")),
              rs.getTimestamp("created_at").toInstant(),
              rs.getTimestamp("updated_at").toInstant());

  private final JdbcTemplate jdbc;
  private final Outbox outbox;
  private final Clock clock = Clock.systemUTC();

  public PaymentService(JdbcTemplate jdbc, Outbox outbox) {
    this.jdbc = jdbc;
    this.outbox = outbox;
  }

  /** Stores an authorized payment and appends {@code PaymentAuthorized}. */
  @Transactional
  public Payment authorize(String payer, String merchant, long amountMinor, String currency) {
    Instant now = now();
    Payment payment =
        new Payment(
            UUID.randomUUID().toString(),
            payer,
            merchant,
            amountMinor,
            currency,
            Status.AUTHORIZED,
            now,
            now);
    jdbc.update(
        "INSERT INTO payment (id, payer, merchant, amount_minor, currency, status, created_at,"
            + " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        payment.id(),
        payer,
        merchant,
        amountMinor,
        currency,
        payment.status().name(),
        Timestamp.from(now),
        Timestamp.from(now));
    appendEvent(
        payment,
        "PaymentAuthorized",
        new PaymentAuthorized(payment.id(), payer, merchant, amountMinor, currency));
    return payment;
  }

  /** Captures an authorized payment and appends {@code PaymentCaptured}. */
  @Transactional
  public Payment capture(String id) {
    Payment payment = move(id, Status.AUTHORIZED, Status.CAPTURED, "captured");
    appendEvent(
        payment,
        "PaymentCaptured",
        new PaymentCaptured(
            id, payment.payer(), payment.merchant(), payment.amountMinor(), payment.currency()));
    return payment;
  }

  /** Refunds a captured payment and appends {@code PaymentRefunded}. */
  @Transactional
  public Payment refund(String id) {
    Payment payment = move(id, Status.CAPTURED, Status.REFUNDED, "refunded");
    appendEvent(
        payment,
        "PaymentRefunded",
        new PaymentRefunded(
            id, payment.payer(), payment.merchant(), payment.amountMinor(), payment.currency()));
    return payment;
  }

  /** The payment's events all go to one topic, keyed by payment id: in order per payment. */
  private void appendEvent(Payment payment, String type, Object event) {
    outbox.append(PaymentEvents.TOPIC, payment.id(), type, event);
  }

  /** The payment, or a 404 problem. */
  @Transactional(readOnly = true)
  public Payment find(String id) {
    List<Payment> found = jdbc.query("SELECT * FROM payment WHERE id = ?", ROW, id);
    if (found.isEmpty()) {
      throw PaymentException.notFound(id);
    }
    return found.get(0);
  }

  private Payment move(String id, Status from, Status to, String action) {
    // Locks the row: two concurrent captures of one payment are serialized, and the second one
    // sees CAPTURED and is refused instead of emitting a second event.
    List<Payment> found = jdbc.query("SELECT * FROM payment WHERE id = ? FOR UPDATE", ROW, id);
    if (found.isEmpty()) {
      throw PaymentException.notFound(id);
    }
    Payment current = found.get(0);
    if (current.status() != from) {
      throw PaymentException.invalidTransition(id, current.status(), action);
    }
    Instant now = now();
    jdbc.update(
        "UPDATE payment SET status = ?, updated_at = ? WHERE id = ?",
        to.name(),
        Timestamp.from(now),
        id);
    return new Payment(
        id,
        current.payer(),
        current.merchant(),
        current.amountMinor(),
        current.currency(),
        to,
        current.createdAt(),
        now);
  }

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MICROS);
  }
}
