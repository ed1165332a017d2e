package dev.outboxkit.outbox;

/**
 * {@link Outbox#append(OutboxMessage)} was called without an active database transaction.
 *
 * <p>The outbox never writes on its own: events are only worth anything when they commit or roll
 * back together with the business data. Run the call inside a transaction (for example a Spring
 * {@code @Transactional} method, or {@link dev.outboxkit.outbox.jdbc.JdbcTransactions}).
 */
public class NoActiveTransactionException extends OutboxException {

  private static final long serialVersionUID = 1L;

  /**
   * @param message why no transaction was found and what to do
   */
  public NoActiveTransactionException(String message) {
    super(message);
  }
}
