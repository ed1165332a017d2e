package dev.outboxkit.relay.internal;

import java.sql.SQLException;
import java.util.HashSet;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What a database failure may say outside the database: in the audit trail, in a log line and in
 * the exception a caller (an HTTP endpoint, the CLI) gets. pgjdbc puts the server's {@code DETAIL}
 * and {@code HINT} on the lines after the first of its message (unless {@code
 * logServerErrorDetail=false}), and for a refused row that detail is "Failing row contains (...)":
 * every column, the payload and the headers included. Only the first line of each message is kept;
 * the SQLState and vendor code stay, so the failure is still recognisable.
 */
final class DatabaseFailures {

  private DatabaseFailures() {}

  /**
   * The reason to record: the class and the first line of the message of {@code e}, followed by
   * those of its causes whose first line says something new.
   */
  static String reason(Throwable e) {
    StringBuilder out = new StringBuilder();
    Set<Throwable> seen = new HashSet<>();
    String previous = null;
    for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
      String line = firstLine(t.getMessage());
      if (t == e) {
        out.append(t.getClass().getSimpleName()).append(": ").append(line);
      } else if (previous == null || !previous.contains(line)) {
        out.append(" (caused by ")
            .append(t.getClass().getSimpleName())
            .append(": ")
            .append(line)
            .append(')');
      }
      previous = line;
    }
    return out.toString();
  }

  /**
   * A copy of {@code e} with the first line of its message, its SQLState and vendor code, and no
   * cause: the driver's exception (with the server's detail) stays out of what the caller gets.
   */
  static SQLException sanitized(SQLException e) {
    return new SQLException(firstLine(e.getMessage()), e.getSQLState(), e.getErrorCode());
  }

  /** The first {@link SQLException} in the cause chain of {@code e}, or {@code null}. */
  static @Nullable SQLException sqlCause(Throwable e) {
    Set<Throwable> seen = new HashSet<>();
    for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
      if (t instanceof SQLException sql) {
        return sql;
      }
    }
    return null;
  }

  /** The text before the first line break, without trailing blanks. */
  static String firstLine(@Nullable String message) {
    if (message == null) {
      return "";
    }
    int end = message.length();
    for (int i = 0; i < message.length(); i++) {
      char c = message.charAt(i);
      if (c == '\n' || c == '\r' || c == '\u2028' || c == '\u2029') {
        end = i;
        break;
      }
    }
    return message.substring(0, end).strip();
  }
}
