package dev.outboxkit.samples.quickstart;

import java.net.URI;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /orders} places an order; {@code GET /outbox} shows the events the relay will send.
 */
@RestController
public class OrderController {

  /** The request body of {@code POST /orders}. */
  public record PlaceOrder(String customer, Long amountMinor) {}

  private final OrderService orders;
  private final JdbcTemplate jdbc;

  public OrderController(OrderService orders, JdbcTemplate jdbc) {
    this.orders = orders;
    this.jdbc = jdbc;
  }

  @PostMapping("/orders")
  public ResponseEntity<OrderService.OrderPlaced> place(@RequestBody PlaceOrder request) {
    if (request.customer() == null || request.customer().isBlank()) {
      throw new IllegalArgumentException("customer must not be blank");
    }
    if (request.amountMinor() == null || request.amountMinor() <= 0) {
      throw new IllegalArgumentException("amountMinor must be a positive number of minor units");
    }
    OrderService.OrderPlaced placed = orders.place(request.customer(), request.amountMinor());
    return ResponseEntity.created(URI.create("/orders/" + placed.orderId())).body(placed);
  }

  @GetMapping("/outbox")
  public List<Map<String, Object>> pendingEvents() {
    return jdbc.queryForList(
        "SELECT id, aggregatetype, aggregateid, type, convert_from(payload, 'UTF8') AS payload,"
            + " created_at, partition_no, status FROM outbox_event ORDER BY seq DESC LIMIT 50");
  }

  @ExceptionHandler(IllegalArgumentException.class)
  ProblemDetail badRequest(IllegalArgumentException e) {
    ProblemDetail problem =
        ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, e.getMessage());
    problem.setTitle("Invalid order");
    return problem;
  }
}
