package dev.outboxkit.relay.internal.polling;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds one connection in {@code LISTEN} on the outbox table's channel and wakes the publishing
 * thread on every notification. The shipped trigger notifies once per inserting statement, and
 * PostgreSQL delivers it at commit, so a wake-up always finds the new rows visible. A lost
 * connection is re-established after a second; meanwhile the relay simply polls.
 *
 * <p>A network path can also go silent without an error (a NAT or firewall that dropped the idle
 * flow, a failover behind a virtual address): the socket stays open and no notification ever
 * arrives. So every statement of the listener runs under a network timeout, and after {@link
 * #PROBE_AFTER_IDLE_MILLIS} without a notification it sends a {@code SELECT 1}: on a silent path
 * that times out, the connection is given up and a new one listens (waking the relay once, for
 * whatever was notified meanwhile). The same timeout bounds the {@code UNLISTEN} at stop.
 *
 * <p>The wake-up goes out as soon as a notification is read: pgjdbc's 1 ms wait for more messages
 * after one is turned off on this connection ({@link PgjdbcMoreMessagesCheck}).
 */
final class PgNotificationListener implements Runnable {

  private static final Logger log = LoggerFactory.getLogger(PgNotificationListener.class);

  /** Idle time after which the listener checks that its connection still answers. */
  static final long PROBE_AFTER_IDLE_MILLIS = 5_000;

  /** How long any statement of the listener may wait for the server before it gives up. */
  static final int NETWORK_TIMEOUT_MILLIS = 5_000;

  private final DataSource dataSource;
  private final String channel;
  private final Runnable onNotify;
  private volatile boolean stopped;

  PgNotificationListener(DataSource dataSource, String table, Runnable onNotify) {
    this.dataSource = dataSource;
    this.channel = table.toLowerCase(Locale.ROOT);
    this.onNotify = onNotify;
  }

  static boolean driverPresent() {
    try {
      Class.forName(
          "org.postgresql.PGConnection", false, PgNotificationListener.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  void stop() {
    stopped = true;
  }

  /**
   * Leaves the connection as it came from the pool: not listening, and without notifications queued
   * in the driver. Otherwise the pooled session would go on receiving every NOTIFY of the outbox's
   * trigger, and nobody would read them. A connection on which that fails is aborted, so that a
   * pool discards it instead of handing it out again.
   */
  private void stopListening(
      Connection c, int savedNetworkTimeout, @Nullable Long savedMoreMessagesCheck) {
    try (Statement statement = c.createStatement()) {
      statement.execute("UNLISTEN \"" + channel + "\"");
      c.unwrap(PGConnection.class).getNotifications();
      if (savedMoreMessagesCheck != null) {
        PgjdbcMoreMessagesCheck.restore(c, savedMoreMessagesCheck);
      }
      c.setNetworkTimeout(Runnable::run, savedNetworkTimeout);
    } catch (SQLException e) {
      log.debug(
          "UNLISTEN on channel {} failed; the connection is discarded: {}", channel, e.toString());
      try {
        c.abort(Runnable::run);
      } catch (SQLException | RuntimeException abortFailed) {
        log.debug("Aborting the LISTEN connection failed: {}", abortFailed.toString());
      }
    }
  }

  @Override
  public void run() {
    boolean warned = false;
    while (!stopped) {
      try (Connection c = dataSource.getConnection()) {
        int savedNetworkTimeout = c.getNetworkTimeout();
        c.setNetworkTimeout(Runnable::run, NETWORK_TIMEOUT_MILLIS);
        c.setAutoCommit(true);
        Long savedMoreMessagesCheck = PgjdbcMoreMessagesCheck.turnOff(c);
        try {
          try (Statement statement = c.createStatement()) {
            statement.execute("LISTEN \"" + channel + "\"");
          }
          PGConnection pg = c.unwrap(PGConnection.class);
          warned = false;
          onNotify.run();
          long lastHeard = System.nanoTime();
          while (!stopped) {
            PGNotification[] notifications = pg.getNotifications(250);
            if (notifications != null && notifications.length > 0) {
              onNotify.run();
              lastHeard = System.nanoTime();
            } else if (System.nanoTime() - lastHeard
                >= TimeUnit.MILLISECONDS.toNanos(PROBE_AFTER_IDLE_MILLIS)) {
              try (Statement probe = c.createStatement()) {
                probe.execute("SELECT 1");
              }
              lastHeard = System.nanoTime();
            }
          }
        } finally {
          stopListening(c, savedNetworkTimeout, savedMoreMessagesCheck);
        }
      } catch (SQLException e) {
        if (!warned) {
          log.warn(
              "LISTEN on channel {} failed; polling only until it is back: {}",
              channel,
              e.toString());
          warned = true;
        }
        try {
          Thread.sleep(1000);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }
}
