package dev.outboxkit.outbox;

import java.sql.SQLException;
import org.jspecify.annotations.Nullable;

/**
 * The database refused a statement of the outbox. The caller's transaction should be rolled back.
 */
public class OutboxStoreException extends OutboxException {

  private static final long serialVersionUID = 1L;

  /**
   * @param message what the outbox was doing
   * @param cause the driver's exception
   */
  public OutboxStoreException(String message, SQLException cause) {
    super(message + ": " + cause.getMessage(), cause);
  }

  /** The driver's SQLState, when it gave one. */
  public @Nullable String sqlState() {
    return getCause() instanceof SQLException sql ? sql.getSQLState() : null;
  }
}
