package dev.outboxkit.samples.payment;

import java.net.URI;
import java.util.Locale;
import java.util.regex.Pattern;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * The payment API. Every POST needs an {@code Idempotency-Key} (see {@code
 * outbox.idempotency.http.paths}): a client that retries with the same key gets the first answer
 * back and no second payment or event.
 */
@RestController
public class PaymentController {

  /** The body of {@code POST /payments}. */
  public record AuthorizePayment(
      String payer, String merchant, Long amountMinor, String currency) {}

  private static final Pattern PARTY = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
  private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");
  private static final long MAX_AMOUNT_MINOR = 100_000_000_00L;

  private final PaymentService payments;

  public PaymentController(PaymentService payments) {
    this.payments = payments;
  }

  @PostMapping("/payments")
  public ResponseEntity<Payment> authorize(@RequestBody AuthorizePayment request) {
    String payer = party("payer", request.payer());
    String merchant = party("merchant", request.merchant());
    if (request.amountMinor() == null
        || request.amountMinor() <= 0
        || request.amountMinor() > MAX_AMOUNT_MINOR) {
      throw PaymentException.invalid(
          "amountMinor must be a whole number of minor units between 1 and " + MAX_AMOUNT_MINOR);
    }
    String currency =
        request.currency() == null ? "" : request.currency().strip().toUpperCase(Locale.ROOT);
    if (!CURRENCY.matcher(currency).matches()) {
      throw PaymentException.invalid("currency must be an ISO 4217 code such as EUR");
    }
    Payment payment = payments.authorize(payer, merchant, request.amountMinor(), currency);
    return ResponseEntity.created(URI.create("/payments/" + payment.id())).body(payment);
  }

  @PostMapping("/payments/{id}/capture")
  public Payment capture(@PathVariable String id) {
    return payments.capture(id);
  }

  @PostMapping("/payments/{id}/refund")
  public Payment refund(@PathVariable String id) {
    return payments.refund(id);
  }

  @GetMapping("/payments/{id}")
  public Payment get(@PathVariable String id) {
    return payments.find(id);
  }

  @ExceptionHandler(PaymentException.class)
  ResponseEntity<ProblemDetail> refused(PaymentException e) {
    ProblemDetail problem = ProblemDetail.forStatusAndDetail(e.status(), e.getMessage());
    problem.setType(URI.create("urn:outboxkit:sample:" + e.type()));
    problem.setTitle(e.type().replace('-', ' '));
    return ResponseEntity.status(e.status()).body(problem);
  }

  @ExceptionHandler(HttpMessageNotReadableException.class)
  ResponseEntity<ProblemDetail> unreadable(HttpMessageNotReadableException e) {
    return refused(PaymentException.invalid("The body must be a JSON payment request"));
  }

  private static String party(String field, String value) {
    if (value == null || !PARTY.matcher(value).matches()) {
      throw PaymentException.invalid(field + " must be 1 to 64 letters, digits, '.', '_' or '-'");
    }
    return value;
  }
}
