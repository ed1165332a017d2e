package dev.outboxkit.spring.app;

import dev.outboxkit.outbox.Outbox;
import jakarta.persistence.EntityManager;
import jakarta.persistence.PersistenceContext;
import java.util.Map;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

@Service
public class PaymentService {

  private final JdbcTemplate jdbc;
  private final Outbox outbox;
  private final ApplicationEventPublisher events;
  @PersistenceContext private EntityManager entityManager;

  public PaymentService(JdbcTemplate jdbc, Outbox outbox, ApplicationEventPublisher events) {
    this.jdbc = jdbc;
    this.outbox = outbox;
    this.events = events;
  }

  /** Writes with JPA, JdbcTemplate and the outbox, then fails when asked to. */
  @Transactional
  public void authorize(String paymentId, long amountMinor, boolean failAtTheEnd) {
    entityManager.persist(new Payment(paymentId, amountMinor));
    entityManager.flush(); // make Hibernate write now, so a rollback has something to undo
    jdbc.update(
        "INSERT INTO payment_audit (payment_id, action) VALUES (?, ?)", paymentId, "AUTHORIZE");
    outbox.append("Payment", paymentId, "PaymentRequested", Map.of("paymentId", paymentId));
    events.publishEvent(new PaymentAuthorized(paymentId, amountMinor, "EUR"));
    if (failAtTheEnd) {
      throw new IllegalStateException("card declined after the writes");
    }
  }
}
