package dev.outboxkit.samples.quickstart;

import dev.outboxkit.outbox.Outbox;
import java.util.UUID;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/** Places orders: the order row and its OrderPlaced event commit together or not at all. */
@Service
public class OrderService {

  /** The event published when an order is placed. */
  public record OrderPlaced(String orderId, String customer, long amountMinor) {}

  private final JdbcTemplate jdbc;
  private final Outbox outbox;

  public OrderService(JdbcTemplate jdbc, Outbox outbox) {
    this.jdbc = jdbc;
    this.outbox = outbox;
  }

  @Transactional
  public OrderPlaced place(String customer, long amountMinor) {
    String orderId = UUID.randomUUID().toString();
    jdbc.update(
        "INSERT INTO orders (id, customer, amount_minor) VALUES (?, ?, ?)",
        orderId,
        customer,
        amountMinor);
    OrderPlaced event = new OrderPlaced(orderId, customer, amountMinor);
    outbox.append("Order", orderId, "OrderPlaced", event);
    return event;
  }
}
