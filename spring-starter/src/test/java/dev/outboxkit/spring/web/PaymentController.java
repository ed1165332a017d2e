package dev.outboxkit.spring.web;

import dev.outboxkit.idempotency.web.Idempotent;
import dev.outboxkit.outbox.Outbox;
import java.net.URI;
import java.util.Map;
import java.util.UUID;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/** Authorizes payments: a payment row and an outbox event per executed request. */
@RestController
public class PaymentController {

  public record Authorize(String account, long amountMinor, Long delayMillis) {}

  public record Payment(String id, String account, long amountMinor) {}

  private final JdbcTemplate jdbc;
  private final Outbox outbox;
  private final WorkProbe probe;

  public PaymentController(JdbcTemplate jdbc, Outbox outbox, WorkProbe probe) {
    this.jdbc = jdbc;
    this.outbox = outbox;
    this.probe = probe;
  }

  @Idempotent
  @PostMapping("/payments")
  @Transactional
  public ResponseEntity<Payment> authorize(@RequestBody Authorize request) {
    return work(request);
  }

  /** The same work without idempotency, to measure what the filter adds. */
  @PostMapping("/plain/payments")
  @Transactional
  public ResponseEntity<Payment> authorizePlain(@RequestBody Authorize request) {
    return work(request);
  }

  /** Idempotent through outbox.idempotency.http.paths, without an annotation. */
  @PostMapping("/by-path/payments")
  @Transactional
  public ResponseEntity<Payment> authorizeByPath(@RequestBody Authorize request) {
    return work(request);
  }

  /** Post/redirect/get: a 303 is a success and must be stored. */
  @Idempotent
  @PostMapping("/redirects")
  @Transactional
  public ResponseEntity<Void> authorizeAndRedirect(@RequestBody Authorize request) {
    Payment payment = work(request).getBody();
    return ResponseEntity.status(HttpStatus.SEE_OTHER)
        .location(URI.create("/payments/" + payment.id()))
        .build();
  }

  /** A form post: the container parses the body into parameters. */
  @Idempotent
  @PostMapping(path = "/forms", consumes = "application/x-www-form-urlencoded")
  @Transactional
  public ResponseEntity<Payment> authorizeForm(
      @RequestParam String account, @RequestParam long amountMinor) {
    return work(new Authorize(account, amountMinor, null));
  }

  /** Writes, then answers with sendError: the error body comes from a later error dispatch. */
  @Idempotent
  @PostMapping("/send-error")
  @Transactional
  public void authorizeThenSendError(
      @RequestBody Authorize request, jakarta.servlet.http.HttpServletResponse response)
      throws java.io.IOException {
    work(request);
    response.sendError(422, "rejected after writing");
  }

  @Idempotent(required = false)
  @PostMapping("/optional/payments")
  @Transactional
  public ResponseEntity<Payment> authorizeOptional(@RequestBody Authorize request) {
    return work(request);
  }

  @Idempotent
  @PostMapping("/declines")
  public ResponseEntity<Map<String, String>> decline(@RequestBody Authorize request) {
    probe.executions.incrementAndGet();
    return ResponseEntity.status(HttpStatus.PAYMENT_REQUIRED)
        .body(Map.of("reason", "insufficient funds"));
  }

  /** A business authorization failure: a 403 must not be stored, the caller may be granted. */
  @Idempotent
  @PostMapping("/forbidden")
  public ResponseEntity<Map<String, String>> forbidden(@RequestBody Authorize request) {
    probe.executions.incrementAndGet();
    return ResponseEntity.status(HttpStatus.FORBIDDEN).body(Map.of("reason", "not permitted"));
  }

  /** A response larger than the stored-response limit the tests configure (2 KB). */
  @Idempotent
  @PostMapping("/statements")
  @Transactional
  public ResponseEntity<Map<String, String>> statement(@RequestBody Authorize request) {
    Payment payment = work(request).getBody();
    return ResponseEntity.created(URI.create("/payments/" + payment.id()))
        .body(Map.of("id", payment.id(), "lines", "x".repeat(4096)));
  }

  private ResponseEntity<Payment> work(Authorize request) {
    probe.executions.incrementAndGet();
    String id = UUID.randomUUID().toString();
    jdbc.update(
        "INSERT INTO web_payment (id, account, amount_minor) VALUES (?, ?, ?)",
        id,
        request.account(),
        request.amountMinor());
    outbox.append(
        "Payment",
        id,
        "PaymentAuthorized",
        new Payment(id, request.account(), request.amountMinor()));
    if (request.delayMillis() != null) {
      try {
        Thread.sleep(request.delayMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (probe.failAfterWrites.get()) {
      throw new ResponseStatusException(HttpStatus.SERVICE_UNAVAILABLE, "processor timed out");
    }
    return ResponseEntity.created(URI.create("/payments/" + id))
        .body(new Payment(id, request.account(), request.amountMinor()));
  }
}
