package dev.outboxkit.benchmarks;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.spring.OutboxTransactionListener;
import dev.outboxkit.spring.SpringConnectionProvider;
import dev.outboxkit.test.DatabaseKind;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.support.JdbcTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Append throughput next to a raw multi-row {@code INSERT} of the same rows in the same
 * transactions, in one JVM on the shared test servers. Run it with (see docs/benchmarks.md):
 *
 * <pre>
 * ./mvnw -B -pl benchmarks -am test -Dtest=AppendBenchmark -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 *
 * <p>Contenders, interleaved (raw, appendAll, append, raw, ...) after warm-up rounds, each pass on
 * an empty table (truncated outside the timing):
 *
 * <ul>
 *   <li>{@code raw}: what a hand-written outbox does: one {@code INSERT ... VALUES (...), (...)} of
 *       the envelope columns per transaction, a random UUID and the current time per row;
 *   <li>{@code appendAll}: {@link Outbox#appendAll} of the transaction's events;
 *   <li>{@code append}: {@link Outbox#append} once per event.
 * </ul>
 *
 * <p>System properties: {@code bench.events} per pass (50000), {@code bench.tx} events per
 * transaction (100), {@code bench.payload} bytes (1024), {@code bench.keys} (500), {@code
 * bench.passes} (5), {@code bench.warmup} rounds (2), {@code bench.databases} (postgresql; also
 * mariadb, mysql), {@code bench.contenders} (raw,appendAll,append), {@code bench.transactions}
 * ({@code jdbc}: {@link JdbcTransactions}, where {@code append} inserts at each call; {@code
 * spring}: Spring's {@link JdbcTransactionManager} with the starter's {@link
 * OutboxTransactionListener}, where {@code append} is deferred to the commit as the starter does by
 * default; {@code spring-immediate}: the same without deferring). The contender {@code
 * append-immediate} appends one by one without deferring, in the same transactions: with {@code
 * spring}, {@code append} against {@code append-immediate} is deferring's gain in one run. {@code
 * bench.read-floor-trigger} (false): installs schema version 12's trigger (PostgreSQL; none
 * elsewhere) and runs OutboxKit's contenders with it enabled and {@code raw}, a hand-written
 * outbox, with it disabled: the trigger's cost on the write path shows in the ratio to raw.
 */
@ServerTest
class AppendBenchmark {

  private static final int EVENTS = Integer.getInteger("bench.events", 50_000);
  private static final int TX = Integer.getInteger("bench.tx", 100);
  private static final int PAYLOAD = Integer.getInteger("bench.payload", 1024);
  private static final int KEYS = Integer.getInteger("bench.keys", 500);
  private static final int PASSES = Integer.getInteger("bench.passes", 5);
  private static final int WARMUP = Integer.getInteger("bench.warmup", 2);
  private static final List<String> DATABASES =
      Arrays.asList(System.getProperty("bench.databases", "postgresql").split(","));
  private static final List<String> CONTENDERS =
      Arrays.asList(System.getProperty("bench.contenders", "raw,appendAll,append").split(","));

  private static final String TRANSACTIONS = System.getProperty("bench.transactions", "jdbc");
  private static final boolean READ_FLOOR_TRIGGER = Boolean.getBoolean("bench.read-floor-trigger");

  private final byte[] payload = payload();
  private final List<String> report = new ArrayList<>();

  private static byte[] payload() {
    return BenchTables.letters(PAYLOAD);
  }

  @Test
  void appendNextToRawInsert() throws Exception {
    line(
        "events/pass=%d tx=%d payload=%dB keys=%d passes=%d warmup=%d transactions=%s"
            + " read-floor-trigger=%s cores=%d java=%s",
        EVENTS,
        TX,
        PAYLOAD,
        KEYS,
        PASSES,
        WARMUP,
        TRANSACTIONS,
        READ_FLOOR_TRIGGER,
        Runtime.getRuntime().availableProcessors(),
        System.getProperty("java.version"));
    for (String name : DATABASES) {
      DatabaseKind kind = DatabaseKind.valueOf(name.toUpperCase(Locale.ROOT));
      try (TestDatabase db =
          TestServers.database(kind)
              .createDatabase("append_" + name + "_" + (System.nanoTime() % 10000))) {
        run(name, db);
      }
    }
    System.out.println();
    System.out.println("==== AppendBenchmark ====");
    report.forEach(System.out::println);
  }

  private void run(String name, TestDatabase db) throws Exception {
    OutboxDialect dialect;
    try (Connection c = db.dataSource().getConnection()) {
      dialect = OutboxDialect.detect(c);
      OutboxSchema.create(c, dialect, OutboxTable.DEFAULT);
    }
    List<String> floorTrigger =
        READ_FLOOR_TRIGGER
            ? dev.outboxkit.relay.RelaySchema.readFloorStatements(dialect, OutboxTable.DEFAULT)
            : List.of();
    try (Connection c = db.dataSource().getConnection();
        java.sql.Statement s = c.createStatement()) {
      for (String sql : floorTrigger) {
        s.execute(sql);
      }
    }
    Transactions tx = transactions(db.dataSource());
    Outbox.Builder builder = Outbox.builder().connectionProvider(tx.connections()).dialect(dialect);
    Outbox outbox = builder.deferAppends(TRANSACTIONS.equals("spring")).build();
    Outbox immediate = builder.deferAppends(false).build();
    String rawSql = rawInsert(TX);
    Map<String, List<Double>> rates = new LinkedHashMap<>();
    for (int round = -WARMUP; round < PASSES; round++) {
      for (String contender : CONTENDERS) {
        truncate(db);
        if (!floorTrigger.isEmpty()) {
          try (Connection c = db.dataSource().getConnection();
              java.sql.Statement s = c.createStatement()) {
            s.execute(
                "ALTER TABLE outbox_event "
                    + (contender.equals("raw") ? "DISABLE" : "ENABLE ALWAYS")
                    + " TRIGGER outbox_event_assign_xid");
          }
        }
        long start = System.nanoTime();
        switch (contender) {
          case "raw" -> raw(tx, rawSql);
          case "appendAll" -> appendAll(tx, outbox);
          case "append" -> append(tx, outbox);
          case "append-immediate" -> append(tx, immediate);
          default -> throw new IllegalArgumentException("Unknown contender " + contender);
        }
        double rate = EVENTS / ((System.nanoTime() - start) / 1e9);
        System.out.printf(
            Locale.ROOT,
            "%s %s %s: %,.0f events/s%n",
            name,
            round < 0 ? "warm-up" : "pass " + (round + 1),
            contender,
            rate);
        if (round >= 0) {
          rates.computeIfAbsent(contender, k -> new ArrayList<>()).add(rate);
        }
      }
    }
    Double rawMedian = rates.containsKey("raw") ? median(rates.get("raw")) : null;
    for (Map.Entry<String, List<Double>> entry : rates.entrySet()) {
      double median = median(entry.getValue());
      line(
          "%s %-9s median %,8.0f  best %,8.0f events/s  ratio to raw %s  passes %s",
          name,
          entry.getKey(),
          median,
          Collections.max(entry.getValue()),
          rawMedian == null ? "n/a" : String.format(Locale.ROOT, "%.2f", median / rawMedian),
          entry.getValue().stream().map(r -> String.format(Locale.ROOT, "%.0f", r)).toList());
    }
  }

  /** The hand-written outbox: one multi-row insert per transaction. */
  private void raw(Transactions tx, String sql) {
    for (int from = 0; from < EVENTS; from += TX) {
      int first = from;
      tx.execute(
          c -> {
            OffsetDateTime now = OffsetDateTime.now(ZoneOffset.UTC);
            try (PreparedStatement s = c.prepareStatement(sql)) {
              int index = 1;
              for (int i = first; i < first + TX; i++) {
                String key = "key-" + i % KEYS;
                s.setObject(index++, UUID.randomUUID());
                s.setString(index++, "Bench");
                s.setString(index++, key);
                s.setString(index++, "BenchEvent");
                s.setBytes(index++, payload);
                s.setNull(index++, Types.VARCHAR);
                s.setNull(index++, Types.VARCHAR);
                s.setObject(index++, now);
                s.setInt(index++, Math.floorMod(key.hashCode(), 16));
              }
              s.executeUpdate();
            }
          });
    }
  }

  private void appendAll(Transactions tx, Outbox outbox) {
    for (int from = 0; from < EVENTS; from += TX) {
      List<OutboxMessage> messages = new ArrayList<>(TX);
      for (int i = from; i < from + TX; i++) {
        messages.add(OutboxMessage.of("Bench", "key-" + i % KEYS, "BenchEvent", payload));
      }
      tx.execute(c -> outbox.appendAll(messages));
    }
  }

  private void append(Transactions tx, Outbox outbox) {
    for (int from = 0; from < EVENTS; from += TX) {
      int first = from;
      tx.execute(
          c -> {
            for (int i = first; i < first + TX; i++) {
              outbox.append(OutboxMessage.of("Bench", "key-" + i % KEYS, "BenchEvent", payload));
            }
          });
    }
  }

  /** The transactions of a pass: every contender runs in the same kind. */
  private interface Transactions {
    ConnectionProvider connections();

    void execute(JdbcTransactions.ConnectionAction work);
  }

  private static Transactions transactions(DataSource dataSource) {
    if (TRANSACTIONS.equals("jdbc")) {
      JdbcTransactions jdbc = JdbcTransactions.of(dataSource);
      return new Transactions() {
        @Override
        public ConnectionProvider connections() {
          return jdbc;
        }

        @Override
        public void execute(JdbcTransactions.ConnectionAction work) {
          jdbc.execute(work);
        }
      };
    }
    if (!TRANSACTIONS.equals("spring") && !TRANSACTIONS.equals("spring-immediate")) {
      throw new IllegalArgumentException("bench.transactions: jdbc, spring or spring-immediate");
    }
    JdbcTransactionManager manager = new JdbcTransactionManager(dataSource);
    if (TRANSACTIONS.equals("spring")) {
      manager.addListener(new OutboxTransactionListener(dataSource));
    }
    TransactionTemplate template = new TransactionTemplate(manager);
    SpringConnectionProvider spring = new SpringConnectionProvider(dataSource);
    return new Transactions() {
      @Override
      public ConnectionProvider connections() {
        return spring;
      }

      @Override
      public void execute(JdbcTransactions.ConnectionAction work) {
        template.executeWithoutResult(
            status -> {
              try {
                spring.withTransactionConnection(
                    connection -> {
                      work.accept(connection);
                      return null;
                    });
              } catch (SQLException e) {
                throw new IllegalStateException(e);
              }
            });
      }
    };
  }

  private static String rawInsert(int rows) {
    String row = "(?, ?, ?, ?, ?, ?, ?, ?, ?)";
    return "INSERT INTO outbox_event (id, aggregatetype, aggregateid, type, payload, headers,"
        + " tenant, created_at, partition_no) VALUES "
        + String.join(", ", Collections.nCopies(rows, row));
  }

  private static void truncate(TestDatabase db) throws Exception {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("TRUNCATE TABLE outbox_event");
    }
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  private void line(String format, Object... args) {
    String text = String.format(Locale.ROOT, format, args);
    report.add(text);
    System.out.println(text);
  }
}
