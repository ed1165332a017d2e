package dev.outboxkit.samples.payment;

import org.springframework.http.HttpStatus;

/** A request the payment service refuses; rendered as an RFC 9457 problem. */
public final class PaymentException extends RuntimeException {

  private final HttpStatus status;
  private final String type;

  private PaymentException(HttpStatus status, String type, String message) {
    super(message);
    this.status = status;
    this.type = type;
  }

  static PaymentException invalid(String message) {
    return new PaymentException(HttpStatus.BAD_REQUEST, "invalid-payment", message);
  }

  static PaymentException notFound(String id) {
    return new PaymentException(HttpStatus.NOT_FOUND, "payment-not-found", "No payment " + id);
  }

  static PaymentException invalidTransition(String id, Payment.Status from, String action) {
    return new PaymentException(
        HttpStatus.CONFLICT,
        "invalid-transition",
        "Payment " + id + " is " + from + " and cannot be " + action);
  }

  HttpStatus status() {
    return status;
  }

  String type() {
    return type;
  }
}
