package dev.outboxkit.spring.app;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

@Entity
@Table(name = "payment")
public class Payment {

  @Id private String id;
  private long amountMinor;

  protected Payment() {}

  public Payment(String id, long amountMinor) {
    this.id = id;
    this.amountMinor = amountMinor;
  }

  public String getId() {
    return id;
  }

  public long getAmountMinor() {
    return amountMinor;
  }
}
