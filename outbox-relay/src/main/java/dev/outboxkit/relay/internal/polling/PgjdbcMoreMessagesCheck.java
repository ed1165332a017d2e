package dev.outboxkit.relay.internal.polling;

import java.lang.reflect.Field;
import java.sql.Connection;
import java.sql.SQLException;
import org.jspecify.annotations.Nullable;
import org.postgresql.core.BaseConnection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns off, on the LISTEN connection only, pgjdbc's wait for "more messages" after a notification.
 *
 * <p>Having read a notification, {@code PGConnection.getNotifications(timeout)} keeps reading while
 * {@code PGStream.hasMessagePending()} says more is coming, and that check, when nothing is
 * buffered yet, waits up to 1 ms on the socket and does not remember that it found nothing (pgjdbc
 * 42.7: its time-out path returns before it sets {@code nextStreamAvailableCheckTime}). So every
 * wake-up reached the relay at least 1 ms after the notification did, and while notifications kept
 * coming less than 1 ms apart (1,000 events/s or more) the call returned only at the first quiet
 * millisecond: {@code NotifyLatencyBenchmark} measured commit → woken thread at 1.18 ms p50 with
 * the check, 0.02 ms without. Setting the stream's next check time far ahead makes the check answer
 * at once from what is buffered; a notification not yet buffered is read by the next call, which
 * the listener makes at once.
 *
 * <p>The field is pgjdbc's, not its API: it is looked up once, and if a pgjdbc version no longer
 * has it the listener works as before (1 ms slower per wake-up; logged once at debug). The
 * connection goes back to its pool with the driver's own value restored.
 */
final class PgjdbcMoreMessagesCheck {

  private static final Logger log = LoggerFactory.getLogger(PgjdbcMoreMessagesCheck.class);

  /** pgjdbc's fields, or {@code null} if this pgjdbc does not have them. */
  private static final @Nullable Fields FIELDS = find();

  private record Fields(Field stream, Field nextCheck) {}

  private static @Nullable Fields find() {
    try {
      Field stream =
          Class.forName("org.postgresql.core.QueryExecutorBase").getDeclaredField("pgStream");
      Field nextCheck =
          Class.forName("org.postgresql.core.PGStream")
              .getDeclaredField("nextStreamAvailableCheckTime");
      if (nextCheck.getType() != long.class) {
        throw new NoSuchFieldException("nextStreamAvailableCheckTime is not a long");
      }
      stream.setAccessible(true);
      nextCheck.setAccessible(true);
      return new Fields(stream, nextCheck);
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.debug(
          "pgjdbc's check for more messages cannot be turned off on the LISTEN connection ({});"
              + " each wake-up comes up to 1 ms later",
          e.toString());
      return null;
    }
  }

  private PgjdbcMoreMessagesCheck() {}

  /**
   * Turns the check off on this connection.
   *
   * @return the driver's value, to give back to {@link #restore}; {@code null} if it could not be
   *     turned off (the connection is then unchanged)
   */
  static @Nullable Long turnOff(Connection connection) {
    Fields fields = FIELDS;
    Object stream = stream(connection);
    if (fields == null || stream == null) {
      return null;
    }
    try {
      long saved = fields.nextCheck().getLong(stream);
      fields.nextCheck().setLong(stream, Long.MAX_VALUE);
      return saved;
    } catch (IllegalAccessException | RuntimeException e) {
      log.debug("Could not turn off pgjdbc's check for more messages: {}", e.toString());
      return null;
    }
  }

  /** Gives the connection the driver's value back, before it returns to its pool. */
  static void restore(Connection connection, long saved) throws SQLException {
    Fields fields = FIELDS;
    Object stream = stream(connection);
    if (fields == null || stream == null) {
      throw new SQLException("pgjdbc's stream of the LISTEN connection is no longer reachable");
    }
    try {
      fields.nextCheck().setLong(stream, saved);
    } catch (IllegalAccessException | RuntimeException e) {
      throw new SQLException("Could not restore pgjdbc's check for more messages", e);
    }
  }

  private static @Nullable Object stream(Connection connection) {
    Fields fields = FIELDS;
    if (fields == null) {
      return null;
    }
    try {
      Object executor = connection.unwrap(BaseConnection.class).getQueryExecutor();
      return fields.stream().getDeclaringClass().isInstance(executor)
          ? fields.stream().get(executor)
          : null;
    } catch (SQLException | IllegalAccessException | RuntimeException e) {
      log.debug("pgjdbc's stream of the LISTEN connection is not reachable: {}", e.toString());
      return null;
    }
  }
}
