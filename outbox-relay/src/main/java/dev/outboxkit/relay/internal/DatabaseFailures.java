package dev.outboxkit.relay.internal;

import dev.outboxkit.relay.internal.dialect.RelaySql;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What a database failure may say outside the database: in the audit trail, in a log line and in
 * the exception a caller (an HTTP endpoint, the CLI) gets. pgjdbc puts the server's {@code DETAIL}
 * and {@code HINT} on the lines after the first of its message (unless {@code
 * logServerErrorDetail=false}), and for a refused row that detail is "Failing row contains (...)":
 * every column, the payload and the headers included. Only the first line of each message is kept,
 * and where that line itself quotes values (MySQL's and MariaDB's "Duplicate entry '…'") they are
 * left out ({@link RelaySql#failureMessage}).
 *
 * <p>What an operator needs to act on stays, in brackets after it: the SQLState, the vendor code
 * and the names the database's error gives apart from its message ({@link RelaySql#failureFields}:
 * on PostgreSQL the schema, table, column, data type and constraint). The driver's original
 * exception is kept nowhere, not even in a log at a debug level: its detail is what must not leave
 * the database. Its stack trace (classes and lines, no values) is kept on the copy.
 */
final class DatabaseFailures {

  private DatabaseFailures() {}

  /**
   * The reason to record: the class and the first line of the message of {@code e}, followed by
   * those of its causes whose first line says something new, then the fields of the first {@link
   * SQLException} of the chain.
   */
  static String reason(Throwable e, RelaySql sql) {
    StringBuilder out = new StringBuilder();
    Set<Throwable> seen = new HashSet<>();
    String previous = null;
    for (Throwable t = e; t != null && seen.add(t); t = t.getCause()) {
      String line = line(t, sql);
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
    SQLException first = sqlCause(e);
    if (first != null && !(first instanceof Sanitized)) {
      String fields = fields(first, sql);
      if (!fields.isEmpty()) {
        out.append(' ').append(fields);
      }
    }
    return out.toString();
  }

  /**
   * A copy of {@code e} with the first line of its message and its fields, its SQLState, vendor
   * code and stack trace, and no cause: the driver's exception (with the server's detail) stays out
   * of what the caller gets. A copy is returned as it is.
   */
  static SQLException sanitized(SQLException e, RelaySql sql) {
    if (e instanceof Sanitized) {
      return e;
    }
    String fields = fields(e, sql);
    String line = line(e, sql);
    SQLException copy =
        new Sanitized(
            fields.isEmpty() ? line : line + " " + fields, e.getSQLState(), e.getErrorCode());
    copy.setStackTrace(e.getStackTrace());
    return copy;
  }

  /**
   * {@code [SQLState 23505, schema public, table outbox_event, constraint ...]}: those {@code e}
   * has, or an empty text.
   */
  static String fields(SQLException e, RelaySql sql) {
    List<String> parts = new ArrayList<>();
    if (e.getSQLState() != null) {
      parts.add("SQLState " + e.getSQLState());
    }
    if (e.getErrorCode() != 0) {
      parts.add("vendor code " + e.getErrorCode());
    }
    sql.failureFields(e).forEach((name, value) -> parts.add(name + " " + value));
    return parts.isEmpty() ? "" : "[" + String.join(", ", parts) + "]";
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

  /**
   * The first line of {@code t}'s message, as the database's dialect lets it be shown when it is a
   * driver's ({@link RelaySql#failureMessage}).
   */
  private static String line(Throwable t, RelaySql sql) {
    String line = firstLine(t.getMessage());
    return t instanceof SQLException database && !(t instanceof Sanitized)
        ? sql.failureMessage(database, line)
        : line;
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

  /** A copy made by {@link #sanitized}: its message carries the fields already. */
  private static final class Sanitized extends SQLException {

    private static final long serialVersionUID = 1L;

    Sanitized(String message, @Nullable String sqlState, int vendorCode) {
      super(message, sqlState, vendorCode);
    }
  }
}
