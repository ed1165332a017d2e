package dev.outboxkit.idempotency;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.OutboxDialect;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.IntFunction;
import javax.sql.DataSource;

/**
 * What the purge tests set up: tables holding only expired entries, clients whose entries live one
 * minute, a purger of the default tables, and the data sources they wrap so that a test acts
 * between the purge's (or a client's) statements.
 */
final class PurgeFixture {

  /**
   * Inserts one key of scope {@code client-1}: its id, {@code created_at} and {@code expires_at}.
   */
  static final String KEYS =
      "INSERT INTO idempotency_key (scope, idem_key, fingerprint, created_at, expires_at)"
          + " VALUES ('client-1', ?, 'fp', ?, ?)";

  /**
   * Inserts one message of consumer {@code ledger}: its id, {@code created_at}, {@code expires_at}.
   */
  static final String MESSAGES =
      "INSERT INTO inbox_message (consumer, message_id, created_at, expires_at)"
          + " VALUES ('ledger', ?, ?, ?)";

  private PurgeFixture() {}

  /** Empties {@code idempotency_key} and {@code inbox_message}; returns the database's dialect. */
  static OutboxDialect emptyTables(DataSource dataSource) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      return emptyTables(c);
    }
  }

  /**
   * Empties both tables, then inserts {@code count} entries {@code old-0000}, {@code old-0001}, …
   * in one batch, created at {@code created} and expired 60 s later.
   *
   * @param insert {@link #KEYS} or {@link #MESSAGES}
   * @return the database's dialect
   */
  static OutboxDialect fillWithExpired(
      DataSource dataSource, String insert, int count, Instant created) throws SQLException {
    return fillWithExpired(dataSource, insert, count, created, i -> created.plusSeconds(60));
  }

  /** The same, entry {@code i} expiring at {@code expiresAt.apply(i)}. */
  static OutboxDialect fillWithExpired(
      DataSource dataSource,
      String insert,
      int count,
      Instant created,
      IntFunction<Instant> expiresAt)
      throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      OutboxDialect dialect = emptyTables(c);
      try (PreparedStatement old = c.prepareStatement(insert)) {
        for (int i = 0; i < count; i++) {
          old.setString(1, "old-%04d".formatted(i));
          dialect.setInstant(old, 2, created);
          dialect.setInstant(old, 3, expiresAt.apply(i));
          old.addBatch();
        }
        old.executeBatch();
      }
      return dialect;
    }
  }

  private static OutboxDialect emptyTables(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      OutboxDialect dialect = OutboxDialect.detect(c);
      s.execute("DELETE FROM idempotency_key");
      s.execute("DELETE FROM inbox_message");
      return dialect;
    }
  }

  /** Keys that live one minute, on {@code clock}. */
  static Idempotency idempotency(
      ConnectionProvider tx, OutboxDialect dialect, Clock clock, Duration lockTimeout) {
    return oneMinute(Idempotency.builder(), tx, dialect, clock, lockTimeout).build();
  }

  /** Inbox entries that live one minute, on {@code clock}. */
  static Inbox inbox(
      ConnectionProvider tx, OutboxDialect dialect, Clock clock, Duration lockTimeout) {
    return oneMinute(Inbox.builder(), tx, dialect, clock, lockTimeout).build();
  }

  private static <B extends KeyTableBuilder<B>> B oneMinute(
      B builder, ConnectionProvider tx, OutboxDialect dialect, Clock clock, Duration lockTimeout) {
    return builder
        .connectionProvider(tx)
        .dialect(dialect)
        .clock(clock)
        .ttl(Duration.ofMinutes(1))
        .lockTimeout(lockTimeout);
  }

  /** A purger of {@code idempotency_key} and {@code inbox_message} with a registry of its own. */
  static IdempotencyPurger purger(
      DataSource dataSource, OutboxDialect dialect, int batchSize, int maxBatches, Clock clock) {
    return new IdempotencyPurger(
        dataSource,
        dialect,
        OutboxTable.of("idempotency_key"),
        OutboxTable.of("inbox_message"),
        batchSize,
        maxBatches,
        clock,
        new SimpleMeterRegistry());
  }

  /** What a wrapped connection does before it passes each call on. */
  @FunctionalInterface
  interface BeforeCall {
    void before(Method method, Object[] args) throws Throwable;
  }

  /** Sets up a connection as it is given out, and says what it does before each call. */
  @FunctionalInterface
  interface OnConnection {
    BeforeCall opened(Connection connection) throws Throwable;
  }

  /**
   * {@code target}, whose connections go to {@code onConnection} as they are given out and then run
   * what it returned before each call they pass on; everything else passes straight through.
   */
  static DataSource wrappingConnections(DataSource target, OnConnection onConnection) {
    return (DataSource)
        Proxy.newProxyInstance(
            DataSource.class.getClassLoader(),
            new Class<?>[] {DataSource.class},
            (ds, dsMethod, dsArgs) -> {
              Object result = invoke(target, dsMethod, dsArgs);
              if (!(result instanceof Connection connection)) {
                return result;
              }
              BeforeCall beforeCall = onConnection.opened(connection);
              return Proxy.newProxyInstance(
                  Connection.class.getClassLoader(),
                  new Class<?>[] {Connection.class},
                  (proxy, method, args) -> {
                    beforeCall.before(method, args);
                    return invoke(connection, method, args);
                  });
            });
  }

  /** Whether a connection's call prepares a locking read ({@code ... FOR UPDATE}). */
  static boolean preparesLockingRead(Method method, Object[] args) {
    return method.getName().equals("prepareStatement")
        && String.valueOf(args[0]).contains("FOR UPDATE");
  }

  /**
   * Calls {@code method} on {@code target} and throws what it threw, not its reflective wrapper.
   */
  static Object invoke(Object target, Method method, Object[] args) throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
