package dev.outboxkit.benchmarks;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.test.DatabaseKind;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Where a polling drain's database time goes, statement by statement (issue 23): on a backlog of
 * {@code bench.events} (50,000) events of 1 KiB over 500 keys in the embedded PostgreSQL, it times
 * each statement of a drain step many times on the same rows (reads are read-only; deletes are
 * rolled back) and prints the median, and {@code EXPLAIN (ANALYZE, BUFFERS)} of the relay's read:
 *
 * <ul>
 *   <li>the relay's read of 2,000 events over 16 partitions, as {@link OutboxRows#fetch} sends it
 *       (one walk in {@code seq} order since schema version 8);
 *   <li>the same read ahead, leaving out the 2,000 rows of the batch in flight;
 *   <li>the same read without the byte budget's window functions;
 *   <li>a publishing thread's read when 4 threads share the 16 partitions (4 × 500);
 *   <li>the relay's delete of an acknowledged batch ({@link OutboxRows#markPublished});
 *   <li>the hand-rolled relay's {@code DELETE … RETURNING} of 2,000 rows.
 * </ul>
 *
 * <p>Run on a built class path: {@code java -cp … dev.outboxkit.benchmarks.DrainStatementsMain}. A
 * measuring tool, not a test.
 */
final class DrainStatementsMain {

  private static final int EVENTS = Integer.getInteger("bench.events", 50_000);
  private static final int REPEAT = Integer.getInteger("bench.repeat", 30);
  private static final long BYTES = 64L * 1024 * 1024;

  private DrainStatementsMain() {}

  public static void main(String[] args) throws Exception {
    try (TestDatabase db =
        TestServers.database(DatabaseKind.POSTGRESQL)
            .createDatabase("drainsql_" + (System.nanoTime() % 100_000))) {
      byte[] payload = new byte[1024];
      Arrays.fill(payload, (byte) 'x');
      OutboxBacklog.load(
          new DrainContender.Pass(
              db, new PostgresBenchDatabase(), "unused", "t", EVENTS, 500, payload));
      try (Connection c = db.dataSource().getConnection()) {
        c.setAutoCommit(true);
        measure(c);
      }
    }
    System.exit(0);
  }

  private static void measure(Connection c) throws SQLException {
    OutboxDialect dialect = OutboxDialect.detect(c);
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    Set<Integer> all = new TreeSet<>();
    for (int p = 0; p < 16; p++) {
      all.add(p);
    }
    Set<Integer> quarter = Set.of(0, 4, 8, 12);
    OutboxRows.Fetched first = rows.fetch(c, all, 125, Map.of(), Map.of(), Map.of(), BYTES);
    Map<Integer, List<Long>> inFlight = new HashMap<>();
    for (PendingEvent e : first.rows()) {
      inFlight.computeIfAbsent(e.partition(), k -> new ArrayList<>()).add(e.seq());
    }
    List<Long> seqs = first.rows().stream().map(PendingEvent::seq).toList();
    System.out.printf(Locale.ROOT, "read returned %d rows%n", first.rows().size());

    Captured read = capture(c, rows, all, 125, Map.of());
    Captured ahead = capture(c, rows, all, 125, inFlight);
    report(
        "relay read, 16 partitions x 125",
        () -> rows.fetch(c, all, 125, Map.of(), Map.of(), Map.of(), BYTES));
    report(
        "relay read ahead (2,000 in flight left out)",
        () -> rows.fetch(c, all, 125, Map.of(), inFlight, Map.of(), BYTES));
    report("relay read without the byte budget window", () -> read.inner(c));
    report("read ahead without the byte budget window", () -> ahead.inner(c));
    report(
        "one of 4 threads: 4 partitions x 500",
        () -> rows.fetch(c, quarter, 500, Map.of(), Map.of(), Map.of(), BYTES));
    report(
        "relay delete of 2,000 acknowledged (rolled back)",
        () -> rolledBack(c, () -> rows.markPublished(c, seqs, null)));
    report(
        "hand-rolled DELETE ... RETURNING 2,000 (rolled back)",
        () -> rolledBack(c, () -> handRolled(c)));
    System.out.println("--- EXPLAIN (ANALYZE, BUFFERS) relay read");
    read.explain(c);
    System.out.println("--- EXPLAIN (ANALYZE, BUFFERS) relay read ahead");
    ahead.explain(c);
    // As in a drain: the rows of the batches before are deleted and committed, and no vacuum ran
    // yet, so every read walks past their index entries and heap tuples first.
    for (int i = 0; i < 10; i++) {
      List<Long> batch =
          rows.fetch(c, all, 125, Map.of(), Map.of(), Map.of(), BYTES).rows().stream()
              .map(PendingEvent::seq)
              .toList();
      rows.markPublished(c, batch, null);
    }
    report(
        "relay read after 20,000 deleted (no vacuum)",
        () -> rows.fetch(c, all, 125, Map.of(), Map.of(), Map.of(), BYTES));
    report(
        "hand-rolled after 20,000 deleted (rolled back)", () -> rolledBack(c, () -> handRolled(c)));
    System.out.println("--- EXPLAIN (ANALYZE, BUFFERS) relay read after 20,000 deleted");
    capture(c, rows, all, 125, Map.of()).explain(c);
  }

  private interface Step {
    Object run() throws SQLException;
  }

  private static void report(String name, Step step) throws SQLException {
    for (int i = 0; i < 5; i++) {
      step.run();
    }
    double[] ms = new double[REPEAT];
    for (int i = 0; i < REPEAT; i++) {
      long start = System.nanoTime();
      step.run();
      ms[i] = (System.nanoTime() - start) / 1e6;
    }
    Arrays.sort(ms);
    System.out.printf(
        Locale.ROOT, "%-55s median %7.2f ms  min %7.2f ms%n", name, ms[REPEAT / 2], ms[0]);
  }

  private static Object rolledBack(Connection c, Step step) throws SQLException {
    c.setAutoCommit(false);
    try {
      return step.run();
    } finally {
      c.rollback();
      c.setAutoCommit(true);
    }
  }

  private static int handRolled(Connection c) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "DELETE FROM outbox_event WHERE seq IN (SELECT seq FROM outbox_event"
                + " WHERE status = 'PENDING' ORDER BY seq LIMIT 2000 FOR UPDATE SKIP LOCKED)"
                + " RETURNING seq, id, aggregatetype, aggregateid, type, payload")) {
      int n = 0;
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          rs.getBytes("payload");
          n++;
        }
      }
      return n;
    }
  }

  /** The relay's read statement and its binds, recorded while {@link OutboxRows#fetch} ran. */
  private record Captured(String sql, List<Object[]> binds) {

    /**
     * The read without the byte budget: the inner walk in {@code seq} order (or, in a read past
     * held keys, the inner {@code UNION ALL} of the partitions).
     */
    int inner(Connection c) throws SQLException {
      String inner =
          sql.contains("AS upto FROM (")
              ? sql.substring(sql.indexOf("AS upto FROM (") + 14, sql.lastIndexOf(") w) b"))
              : sql.substring(sql.indexOf("AS total FROM (") + 15, sql.lastIndexOf(") u) w"));
      try (PreparedStatement s = c.prepareStatement(inner)) {
        bind(s, binds.subList(0, binds.size() - 1));
        int n = 0;
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            rs.getBytes("payload");
            n++;
          }
        }
        return n;
      }
    }

    void explain(Connection c) throws SQLException {
      try (PreparedStatement s = c.prepareStatement("EXPLAIN (ANALYZE, BUFFERS) " + sql)) {
        bind(s, binds);
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            System.out.println(rs.getString(1));
          }
        }
      }
    }

    private static void bind(PreparedStatement s, List<Object[]> binds) throws SQLException {
      for (Object[] call : binds) {
        int index = (Integer) call[1];
        Object value = call[2];
        switch ((String) call[0]) {
          case "setInt" -> s.setInt(index, (Integer) value);
          case "setLong" -> s.setLong(index, (Long) value);
          case "setArray" -> s.setArray(index, (java.sql.Array) value);
          default -> s.setString(index, (String) value);
        }
      }
    }
  }

  /** Runs a read through a connection that records the statement's text and binds. */
  private static Captured capture(
      Connection c,
      OutboxRows rows,
      Set<Integer> partitions,
      int perPartition,
      Map<Integer, List<Long>> inFlight)
      throws SQLException {
    String[] sql = new String[1];
    List<Object[]> binds = new ArrayList<>();
    Connection recording =
        (Connection)
            Proxy.newProxyInstance(
                Connection.class.getClassLoader(),
                new Class<?>[] {Connection.class},
                (proxy, method, args) -> {
                  Object result = invoke(c, method, args);
                  if (method.getName().equals("prepareStatement")) {
                    sql[0] = (String) args[0];
                    return recordingStatement((PreparedStatement) result, binds);
                  }
                  return result;
                });
    rows.fetch(recording, partitions, perPartition, Map.of(), inFlight, Map.of(), BYTES);
    return new Captured(sql[0], binds);
  }

  private static PreparedStatement recordingStatement(
      PreparedStatement target, List<Object[]> binds) {
    return (PreparedStatement)
        Proxy.newProxyInstance(
            PreparedStatement.class.getClassLoader(),
            new Class<?>[] {PreparedStatement.class},
            (proxy, method, args) -> {
              if (method.getName().startsWith("set") && args != null && args.length == 2) {
                binds.add(new Object[] {method.getName(), args[0], args[1]});
              }
              return invoke(target, method, args);
            });
  }

  private static Object invoke(Object target, Method method, Object[] args) throws Throwable {
    try {
      return method.invoke(target, args);
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
