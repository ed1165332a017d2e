package dev.outboxkit.spring.app;

import dev.outboxkit.spring.OutboxApplicationEvent;

public record PaymentAuthorized(String paymentId, long amountMinor, String currency)
    implements OutboxApplicationEvent {

  @Override
  public String aggregateType() {
    return "Payment";
  }

  @Override
  public String aggregateId() {
    return paymentId;
  }
}
