package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.RelayTables;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The set-up the tests of parked events share, on one real database: the relay's tables, an {@link
 * Outbox} to append with, events parked as the relay leaves them, and {@link JdbcParkedEvents} over
 * them. Each test class says itself what it empties first ({@link #execute}).
 */
final class ParkedEventsFixture {

  private final DataSource dataSource;
  private final OutboxDialect dialect;
  private final JdbcTransactions tx;
  private final Outbox outbox;

  private ParkedEventsFixture(DataSource dataSource) throws SQLException {
    this.dataSource = dataSource;
    this.dialect = RelayTables.create(dataSource);
    this.tx = JdbcTransactions.of(dataSource);
    this.outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
  }

  /** The relay's tables created (if missing) in {@code dataSource}'s database. */
  static ParkedEventsFixture on(DataSource dataSource) throws SQLException {
    return new ParkedEventsFixture(dataSource);
  }

  OutboxDialect dialect() {
    return dialect;
  }

  /** Appends one event in a transaction of its own. */
  OutboxEvent append(String aggregateType, String key, String payload) throws Exception {
    return tx.inTransaction(c -> outbox.append(OutboxMessage.of(aggregateType, key, "E", payload)));
  }

  /** Appends one event of aggregate {@code t} and key {@code k}. */
  UUID append(String payload) throws Exception {
    return append("t", "k", payload).id();
  }

  /** Appends {@code count} events of one key, payloads {@code {"n":0}} and up, one by one. */
  List<UUID> appendNumbered(int count) throws Exception {
    List<UUID> appended = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      appended.add(append("{\"n\":" + i + "}"));
    }
    return appended;
  }

  /** Parks every event of the table, as the relay parks one whose attempts ran out. */
  void parkAll() throws SQLException {
    execute("UPDATE outbox_event SET status = 'DEAD', last_error = 'parked'");
  }

  /** The parked-event operations, with no relay to wake. */
  ParkedEvents parked() {
    return parked(() -> {});
  }

  /** The parked-event operations; {@code onReplay} stands for the polling relay's wake-up. */
  ParkedEvents parked(Runnable onReplay) {
    return parked(dataSource, onReplay);
  }

  /** The same, on the connections of {@code via} (a data source that breaks them on purpose). */
  ParkedEvents parked(DataSource via, Runnable onReplay) {
    return new JdbcParkedEvents(
        new Jdbc(via), dialect, OutboxTable.DEFAULT, onReplay, Clock.systemUTC());
  }

  void execute(String sql) throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  /** The first column of {@code sql}'s one row, a count. */
  long count(String sql) throws SQLException {
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** The {@code id} column of every row of {@code sql}, read through the dialect. */
  List<UUID> ids(String sql) throws SQLException {
    List<UUID> out = new ArrayList<>();
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(dialect.getUuid(rs, "id"));
      }
    }
    return out;
  }

  /** The first column of every row of {@code sql}, as text. */
  List<String> texts(String sql) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = dataSource.getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  /**
   * Whether {@code wanted} is {@code thrown}, one of its causes, or suppressed by one of them: the
   * caller's own exception kept.
   */
  static boolean keeps(Throwable thrown, Throwable wanted) {
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      if (t == wanted) {
        return true;
      }
      for (Throwable s : t.getSuppressed()) {
        if (s == wanted) {
          return true;
        }
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return false;
  }
}
