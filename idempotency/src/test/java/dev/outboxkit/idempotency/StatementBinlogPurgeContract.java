package dev.outboxkit.idempotency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.MutableClock;
import dev.outboxkit.test.TestDatabaseExtension;
import java.io.PrintWriter;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * The purge on a MySQL or MariaDB server (one subclass each) whose binary log is statement-based
 * ({@code binlog_format=STATEMENT}, still accepted by MySQL 8.0 and MariaDB, and MariaDB's {@code
 * MIXED} default being the usual alternative): review16. Since 4d7cdcf the purge runs its batch at
 * {@code READ COMMITTED}, and InnoDB refuses to write a statement-based binlog at that level (error
 * 1665 "... InnoDB is limited to row-logging when transaction isolation level is READ COMMITTED or
 * READ UNCOMMITTED"), so every purge fails and the tables grow. The plain {@code DELETE ... LIMIT}
 * before it, at the session's level, was written to the same binlog with a warning.
 *
 * <p>The server's setting is emulated per session (every connection the purger takes is switched to
 * {@code STATEMENT}, and back before it returns to the pool): the shared test server stays ROW.
 */
abstract class StatementBinlogPurgeContract {

  abstract TestDatabaseExtension db();

  @Test
  void thePurgeDeletesExpiredKeysWhenTheBinlogIsStatementBased() throws Exception {
    try (Connection c = db().dataSource().getConnection()) {
      IdempotencySchema.create(
          c,
          OutboxDialect.detect(c),
          OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
          OutboxTable.of(IdempotencyDefaults.INBOX_TABLE));
    }
    MutableClock clock = new MutableClock();
    OutboxDialect dialect =
        PurgeFixture.fillWithExpired(db().dataSource(), PurgeFixture.KEYS, 3, clock.instant());
    clock.advance(Duration.ofMinutes(2));
    IdempotencyPurger purger =
        PurgeFixture.purger(statementBinlog(db().dataSource()), dialect, 100, 1, clock);
    assertThat(purger.purgeExpired()).as("expired keys deleted").isEqualTo(3);
  }

  /** {@code dataSource} whose connections write a statement-based binlog until they are closed. */
  private static DataSource statementBinlog(DataSource dataSource) {
    return new DataSource() {
      @Override
      public Connection getConnection() throws SQLException {
        Connection c = dataSource.getConnection();
        set(c, "STATEMENT");
        return (Connection)
            Proxy.newProxyInstance(
                Connection.class.getClassLoader(),
                new Class<?>[] {Connection.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("close")) {
                    try {
                      set(c, "ROW");
                    } finally {
                      c.close();
                    }
                    return null;
                  }
                  return PurgeFixture.invoke(c, method, args);
                });
      }

      @Override
      public Connection getConnection(String username, String password) {
        throw new UnsupportedOperationException();
      }

      @Override
      public PrintWriter getLogWriter() {
        return null;
      }

      @Override
      public void setLogWriter(PrintWriter out) {}

      @Override
      public void setLoginTimeout(int seconds) {}

      @Override
      public int getLoginTimeout() {
        return 0;
      }

      @Override
      public Logger getParentLogger() {
        return Logger.getGlobal();
      }

      @Override
      public <T> T unwrap(Class<T> iface) throws SQLException {
        throw new SQLException("not a wrapper");
      }

      @Override
      public boolean isWrapperFor(Class<?> iface) {
        return false;
      }
    };
  }

  private static void set(Connection c, String format) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("SET SESSION binlog_format = '" + format + "'");
    }
  }
}
