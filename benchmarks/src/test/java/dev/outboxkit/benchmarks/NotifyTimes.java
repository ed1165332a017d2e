package dev.outboxkit.benchmarks;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * A second LISTEN on the outbox table's channel, beside the relay's own, recording when each NOTIFY
 * arrives into {@link LatencyStages}: how long PostgreSQL takes from a commit to a listener's
 * socket, measured the way the relay's listener receives it.
 */
final class NotifyTimes implements AutoCloseable {

  private final Thread thread;
  private volatile boolean stopped;

  NotifyTimes(DataSource dataSource, String channel, LatencyStages stages) throws SQLException {
    Connection c = dataSource.getConnection();
    c.setAutoCommit(true);
    try (Statement s = c.createStatement()) {
      s.execute("LISTEN \"" + channel + "\"");
    }
    PGConnection pg = c.unwrap(PGConnection.class);
    thread =
        new Thread(
            () -> {
              try (c) {
                while (!stopped) {
                  PGNotification[] got = pg.getNotifications(100);
                  long now = System.nanoTime();
                  if (got != null) {
                    for (int i = 0; i < got.length; i++) {
                      stages.notified(now);
                    }
                  }
                }
                // The connection goes back to the pool: a pooled connection left in LISTEN would
                // be sent every later NOTIFY with nobody reading them.
                try (Statement s = c.createStatement()) {
                  s.execute("UNLISTEN *");
                }
              } catch (SQLException e) {
                System.out.println("second listener stopped: " + e);
              }
            },
            "bench-notify-times");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void close() throws InterruptedException {
    stopped = true;
    thread.join(2000);
  }
}
