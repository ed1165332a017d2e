package dev.outboxkit.samples.payment;

import java.time.Instant;

/**
 * A payment as stored and returned by the API.
 *
 * @param id the payment id
 * @param payer who pays
 * @param merchant who is paid
 * @param amountMinor the amount in minor units (cents)
 * @param currency ISO 4217 code
 * @param status AUTHORIZED, CAPTURED or REFUNDED
 * @param createdAt when it was authorized
 * @param updatedAt when its status last changed
 */
public record Payment(
    String id,
    String payer,
    String merchant,
    long amountMinor,
    String currency,
    Status status,
    Instant createdAt,
    Instant updatedAt) {

  /** The life of a payment: authorized, then captured, then possibly refunded. */
  public enum Status {
    AUTHORIZED,
    CAPTURED,
    REFUNDED
  }
}
