package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What an operator's change to parked events locks, one subclass per database: only the parked rows
 * it changes, so that the application's appends and the relay's parking inserts never wait for it.
 */
abstract class ParkedLocksContract {

  /** Sorts after every time-ordered (UUIDv7) id of today: its row goes where new rows go. */
  private static final UUID LATE_ID = UUID.fromString("7fffffff-ffff-7fff-bfff-ffffffffffff");

  abstract TestDatabaseExtension db();

  /** Statements that make another transaction hold what the audit record's insert needs. */
  abstract List<String> holdTheAuditTable();

  /**
   * A query whose first column counts this database's sessions that run the audit record's insert
   * (the operator's, waiting for the holder).
   */
  abstract String waitingSessions();

  /**
   * Parked finding 3: a replay or purge of an id that has no row (a typo, an event replayed and
   * published meanwhile, the newest one here). On MySQL and MariaDB under {@code REPEATABLE READ} a
   * locking read or a delete by that id that finds no row locks the gap of the id index where the
   * id would be, here the gap after the newest id, where every new row's id goes, until the
   * operator's transaction ends. The operator's transaction is held open at its last step (its
   * audit record waits for another transaction that holds the audit table); meanwhile an
   * application's append and the CDC relay's parking insert of a DEAD row must not wait.
   *
   * <p>Before the fix the purge failed on MySQL 8.0.31 and MariaDB 11.4 with "the application's
   * append waited 5 s for the operator's open transaction on a missing id" ({@code DELETE … WHERE
   * status = 'DEAD' AND id = ?} on the missing id); the replay passed everywhere (it found its rows
   * by a plain read before its locking read), and PostgreSQL, which has no gap locks, passed both.
   */
  @ParameterizedTest
  @ValueSource(strings = {"replay", "purge"})
  void aChangeOfAMissingIdNeitherBlocksAnAppendNorAParkingInsert(String operation)
      throws Exception {
    OutboxDialect dialect = RelayTables.create(db().dataSource());
    execute("DELETE FROM outbox_event");
    execute("DELETE FROM outbox_audit");
    JdbcTransactions tx = JdbcTransactions.of(db().dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    append(tx, outbox, "parked");
    execute("UPDATE outbox_event SET status = 'DEAD', last_error = 'parked'");
    UUID missing = append(tx, outbox, "replayed and published").id();
    execute("DELETE FROM outbox_event WHERE status = 'PENDING'");
    ParkedEvents parked =
        new JdbcParkedEvents(
            new Jdbc(db().dataSource()), dialect, OutboxTable.DEFAULT, () -> {}, Clock.systemUTC());
    Function<UUID, Integer> change =
        operation.equals("replay")
            ? id -> parked.replay(List.of(id))
            : id -> parked.purge(List.of(id));

    ExecutorService threads = Executors.newFixedThreadPool(3);
    try (Connection holder = db().dataSource().getConnection()) {
      holder.setAutoCommit(false);
      try (Statement s = holder.createStatement()) {
        for (String sql : holdTheAuditTable()) {
          s.execute(sql);
        }
      }
      Future<Integer> operator = threads.submit(() -> change.apply(missing));
      try {
        awaitWaitingOperator(operator);
        Future<?> writer = threads.submit(() -> append(tx, outbox, "appended meanwhile"));
        Future<?> parking = threads.submit(() -> insertParked(dialect));
        long start = System.nanoTime();
        assertWithin(writer, "the application's append");
        assertWithin(parking, "the relay's parking insert");
        System.out.printf(
            "[parked-3] %s of a missing id, open: append and parking insert done in %d ms%n",
            operation, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
      } finally {
        holder.rollback();
        holder.setAutoCommit(true);
      }
      assertThat(operator.get(30, TimeUnit.SECONDS)).as("events changed").isZero();
    } finally {
      threads.shutdownNow();
    }
  }

  private void awaitWaitingOperator(Future<Integer> operator) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      if (operator.isDone()) {
        throw new AssertionError("the operator's change did not wait for its audit record");
      }
      try (Connection c = db().dataSource().getConnection();
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery(waitingSessions())) {
        rs.next();
        if (rs.getInt(1) > 0) {
          return;
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError(
        "the operator's change never reached its audit record; sessions: " + sessions());
  }

  /** What the database's sessions do, for a failure's message. */
  abstract String sessionsQuery();

  private String sessions() throws SQLException {
    StringBuilder out = new StringBuilder();
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sessionsQuery())) {
      int columns = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        out.append('[');
        for (int i = 1; i <= columns; i++) {
          out.append(i == 1 ? "" : ", ").append(rs.getString(i));
        }
        out.append("] ");
      }
    }
    return out.toString();
  }

  private static void assertWithin(Future<?> work, String what) throws Exception {
    try {
      work.get(5, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError(
          what + " waited 5 s for the operator's open transaction on a missing id", e);
    }
  }

  private static OutboxEvent append(JdbcTransactions tx, Outbox outbox, String type)
      throws Exception {
    return tx.inTransaction(c -> outbox.append(OutboxMessage.of("t", "k", type, "{}")));
  }

  /** As the CDC relay parks an event whose row the writer deleted: a DEAD row with its id. */
  private Void insertParked(OutboxDialect dialect) throws SQLException {
    try (Connection c = db().dataSource().getConnection();
        PreparedStatement insert =
            c.prepareStatement(
                "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload,"
                    + " headers, tenant, created_at, partition_no, status, attempts, last_error)"
                    + " VALUES (?, 't', 'k', 'E', NULL, NULL, NULL, ?, 0, 'DEAD', 5, 'parked')")) {
      dialect.setUuid(insert, 1, LATE_ID);
      dialect.setInstant(insert, 2, Instant.now());
      insert.executeUpdate();
    }
    return null;
  }

  private void execute(String sql) throws SQLException {
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
