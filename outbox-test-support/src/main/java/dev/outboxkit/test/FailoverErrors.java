package dev.outboxkit.test;

import java.sql.SQLException;

/** What the failover tests say about the errors writers saw while the database was down. */
public final class FailoverErrors {

  private FailoverErrors() {}

  /** Whether an {@link SQLException} is somewhere in the cause chain: a clear database error. */
  public static boolean hasSqlCause(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (t instanceof SQLException) {
        return true;
      }
    }
    return false;
  }

  /** The error and its first cause on one line, the cause's message cut at 160 characters. */
  public static String describe(Throwable error) {
    StringBuilder text = new StringBuilder(error.getClass().getSimpleName());
    text.append(": ").append(error.getMessage());
    Throwable cause = error.getCause();
    if (cause != null) {
      text.append(" <- ").append(cause.getClass().getSimpleName()).append(": ");
      String message = String.valueOf(cause.getMessage());
      text.append(message.length() > 160 ? message.substring(0, 160) + "..." : message);
    }
    return text.toString().replace('\n', ' ');
  }
}
