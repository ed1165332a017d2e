package dev.outboxkit.samples.payment;

/**
 * The events of a payment, published to topic {@value #TOPIC} with the payment id as key. Their
 * JSON is the contract with consumers such as the ledger.
 */
public final class PaymentEvents {

  /** Aggregate type of every payment event, and so the topic name. */
  public static final String TOPIC = "payment";

  /** A payment was authorized: the payer owes the amount, the merchant has it pending. */
  public record PaymentAuthorized(
      String paymentId, String payer, String merchant, long amountMinor, String currency) {}

  /** The authorized amount was captured: it moves from pending to available for the merchant. */
  public record PaymentCaptured(
      String paymentId, String payer, String merchant, long amountMinor, String currency) {}

  /** A captured payment was refunded: the merchant pays the amount back to the payer. */
  public record PaymentRefunded(
      String paymentId, String payer, String merchant, long amountMinor, String currency) {}

  private PaymentEvents() {}
}
