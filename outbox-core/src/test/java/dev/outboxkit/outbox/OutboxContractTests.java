package dev.outboxkit.outbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.internal.JdbcOutboxStore;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TimeZone;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The write path against a real database. One subclass per database registers the database
 * extension and names it through {@link #db()}.
 */
@ServerTest
abstract class OutboxContractTests {

  abstract TestDatabaseExtension db();

  private OutboxDialect dialect;
  private JdbcTransactions tx;
  private Outbox outbox;

  record PaymentAuthorized(String paymentId, long amountMinor, String currency) {}

  @BeforeEach
  void createCleanOutbox() throws SQLException {
    try (Connection connection = db().dataSource().getConnection()) {
      dialect = OutboxDialect.detect(connection);
      OutboxSchema.create(connection, dialect, OutboxTable.DEFAULT);
      OutboxSchema.verify(connection, dialect, OutboxTable.DEFAULT);
      try (Statement statement = connection.createStatement()) {
        statement.execute("DELETE FROM outbox_event");
      }
    }
    tx = JdbcTransactions.of(db().dataSource());
    outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
  }

  @Test
  void detectsTheDialectOfTheDatabase() {
    assertThat(dialect.name()).isEqualTo(db().kind().key());
  }

  @Test
  void commitStoresEveryFieldIntact() throws SQLException {
    Map<String, String> headers =
        Map.of(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "x-user",
            "ünïcödé ✓");
    OutboxEvent json =
        tx.inTransaction(
            c ->
                outbox.append(
                    OutboxMessage.of(
                            "Payment",
                            "pay-ü-1",
                            "PaymentAuthorized",
                            new PaymentAuthorized("pay-ü-1", 1250, "EUR"))
                        .withHeaders(headers)
                        .withTenant("acme")));
    OutboxEvent raw =
        tx.inTransaction(
            c -> outbox.append("Payment", "pay-2", "Raw", new byte[] {0, 1, 2, (byte) 0xFF}));
    OutboxEvent tombstone = tx.inTransaction(c -> outbox.append("Payment", "pay-3", "Gone", null));

    List<OutboxEvent> stored = readAll();
    assertThat(stored).containsExactly(json, raw, tombstone);
    assertThat(new String(stored.get(0).payload(), StandardCharsets.UTF_8))
        .isEqualTo("{\"paymentId\":\"pay-ü-1\",\"amountMinor\":1250,\"currency\":\"EUR\"}");
    assertThat(stored.get(0).headers()).isEqualTo(headers);
    assertThat(stored.get(0).tenant()).isEqualTo("acme");
    assertThat(stored.get(1).payload()).containsExactly(0, 1, 2, 0xFF);
    assertThat(stored.get(2).payload()).isNull();
    assertThat(stored.get(2).headers()).isEmpty();
    assertThat(bookkeeping(json.id())).isEqualTo("PENDING/0");
  }

  @Test
  void timestampsSurviveInUtcWhateverTheSessionAndJvmTimeZone() throws SQLException {
    Instant at = Instant.parse("2026-03-29T01:30:00.123456Z"); // a DST change in Europe
    Outbox clocked =
        Outbox.builder()
            .connectionProvider(tx)
            .dialect(dialect)
            .clock(Clock.fixed(at, ZoneOffset.UTC))
            .build();
    TimeZone jvmZone = TimeZone.getDefault();
    try {
      TimeZone.setDefault(TimeZone.getTimeZone("Pacific/Auckland"));
      tx.execute(
          c -> {
            try (Statement statement = c.createStatement()) {
              statement.execute(
                  switch (dialect.name()) {
                    case "postgresql" -> "SET TIME ZONE 'America/New_York'";
                    case "h2" -> "SET TIME ZONE '-05:00'";
                    default -> "SET time_zone = '-05:00'";
                  });
            }
            clocked.append("Payment", "p", "T", null);
          });
      TimeZone.setDefault(TimeZone.getTimeZone("Asia/Kolkata"));
      assertThat(readAll().get(0).createdAt()).isEqualTo(at);
    } finally {
      TimeZone.setDefault(jvmZone);
    }
  }

  @Test
  void aBatchThatFailsHalfWayLeavesNothingEvenIfTheCallerCommits() throws SQLException {
    // The second chunk holds an event whose id collides with the first chunk's: the unique index
    // refuses it after the first chunk was inserted.
    Outbox small =
        Outbox.builder().connectionProvider(tx).dialect(dialect).insertBatchSize(2).build();
    OutboxEvent kept = tx.inTransaction(c -> outbox.append("Payment", "before", "T", null));
    tx.execute(
        c -> {
          JdbcOutboxStore store = new JdbcOutboxStore(dialect, OutboxTable.DEFAULT, 2, 1_000_000);
          OutboxEvent first = small.append("Payment", "x", "First", null);
          try (Statement statement = c.createStatement()) {
            statement.execute("DELETE FROM outbox_event WHERE aggregateid = 'x'");
          }
          OutboxEvent other =
              new OutboxEvent(
                  java.util.UUID.randomUUID(),
                  "Payment",
                  "y",
                  "T",
                  null,
                  Map.of(),
                  null,
                  first.createdAt(),
                  0);
          assertThatThrownBy(() -> store.insert(c, List.of(first, other, kept)))
              .isInstanceOf(SQLException.class);
          // The caller swallows the error and commits: the savepoint already undid chunk one.
        });
    assertThat(readAll()).containsExactly(kept);
  }

  @Test
  void rollbackStoresNothing() throws SQLException {
    assertThatThrownBy(
            () ->
                tx.execute(
                    c -> {
                      outbox.append("Payment", "p-1", "PaymentAuthorized", "{}");
                      outbox.appendAll(
                          List.of(
                              OutboxMessage.of("Payment", "p-2", "A", "{}"),
                              OutboxMessage.of("Payment", "p-3", "A", "{}")));
                      throw new IllegalStateException("business rule failed");
                    }))
        .hasMessage("business rule failed");
    assertThat(count()).isZero();
  }

  @Test
  void appendingWithoutATransactionFailsAndWritesNothing() throws SQLException {
    assertThatThrownBy(() -> outbox.append("Payment", "p-1", "PaymentAuthorized", "{}"))
        .isInstanceOf(NoActiveTransactionException.class)
        .hasMessageContaining("No transaction is active");
    assertThat(count()).isZero();
  }

  @Test
  void anAutoCommitConnectionIsRefused() throws SQLException {
    try (Connection autoCommit = db().dataSource().getConnection()) {
      autoCommit.setAutoCommit(true);
      ConnectionProvider leaky =
          new ConnectionProvider() {
            @Override
            public <T> T withTransactionConnection(ConnectionCallback<T> work) throws SQLException {
              return work.apply(autoCommit);
            }
          };
      Outbox outboxOnLeak = Outbox.builder().connectionProvider(leaky).dialect(dialect).build();
      assertThatThrownBy(() -> outboxOnLeak.append("Payment", "p-1", "T", "{}"))
          .isInstanceOf(NoActiveTransactionException.class)
          .hasMessageContaining("auto-commit");
    }
    assertThat(count()).isZero();
  }

  @Test
  void invalidEventsAreRejectedBeforeTheInsertAndTheTransactionGoesOn() throws SQLException {
    tx.execute(
        c -> {
          outbox.append("Payment", "good-1", "PaymentAuthorized", "{}");
          assertThatThrownBy(
                  () ->
                      outbox.appendAll(
                          List.of(
                              OutboxMessage.of("Payment", "good-2", "A", "{}"),
                              OutboxMessage.of("Pay ment", "bad", "A", "{}"))))
              .isInstanceOf(InvalidEventException.class)
              .hasMessageContaining("events[1].aggregateType");
          assertThatThrownBy(() -> outbox.append("Payment", "big", "A", new byte[1_000_001]))
              .isInstanceOf(InvalidEventException.class)
              .hasMessageContaining("payload must be at most 1000000 bytes");
        });
    // The failed calls wrote nothing and did not poison the transaction: the good event committed.
    assertThat(readAll()).extracting(OutboxEvent::aggregateId).containsExactly("good-1");
  }

  @Test
  void thousandEventsAppendInOneRoundTrip() throws SQLException {
    StatementCounter counter = new StatementCounter();
    Outbox countedOutbox = countingBuilder(counter).build();
    List<OutboxMessage> batch =
        IntStream.range(0, 1000)
            .mapToObj(
                i ->
                    OutboxMessage.of(
                        "Payment",
                        "p-" + (i % 50),
                        "PaymentAuthorized",
                        new PaymentAuthorized("p-" + i, i, "EUR")))
            .toList();

    long batchNanos = 0;
    for (int round = 0; round < 5; round++) { // the first rounds warm up the JIT and the server
      counter.reset();
      long start = System.nanoTime();
      tx.execute(c -> countedOutbox.appendAll(batch));
      batchNanos = System.nanoTime() - start;
      assertThat(counter.executions()).isOne();
    }
    long start = System.nanoTime();
    tx.execute(c -> batch.forEach(countedOutbox::append));
    long singleNanos = System.nanoTime() - start;

    assertThat(count()).isEqualTo(6 * 1000);
    System.out.printf(
        "[append-benchmark] %s: appendAll(1000 events) = 1 statement, %.1f ms;"
            + " 1000 x append = %.1f ms%n",
        dialect.name(), batchNanos / 1e6, singleNanos / 1e6);
  }

  @Test
  void largeBatchesSplitByRowsAndBytes() throws SQLException {
    StatementCounter counter = new StatementCounter();
    Outbox small = countingBuilder(counter).insertBatchSize(100).insertBatchBytes(10_000).build();
    List<OutboxMessage> batch =
        IntStream.range(0, 250)
            .mapToObj(i -> OutboxMessage.of("Payment", "p-" + i, "T", new byte[10]))
            .toList();
    tx.execute(c -> small.appendAll(batch));
    assertThat(counter.executions()).isEqualTo(3); // 100 + 100 + 50 rows

    counter.reset();
    List<OutboxMessage> heavy =
        IntStream.range(0, 5)
            .mapToObj(i -> OutboxMessage.of("Payment", "h", "T", new byte[6000]))
            .toList();
    tx.execute(c -> small.appendAll(heavy));
    assertThat(counter.executions()).isEqualTo(5); // 6 KB each, 10 KB per statement
    assertThat(count()).isEqualTo(255);
  }

  @Test
  void eventsKeepTheirAppendOrder() throws SQLException {
    List<OutboxEvent> appended = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      int n = i;
      appended.addAll(
          tx.inTransaction(
              c ->
                  outbox.appendAll(
                      List.of(
                          OutboxMessage.of("Payment", "p-1", "E" + n, null),
                          OutboxMessage.of("Payment", "p-2", "E" + n, null)))));
    }
    assertThat(readAll()).containsExactlyElementsOf(appended);
  }

  @Test
  void concurrentWritersGetUniqueIds() throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<List<OutboxEvent>>> futures = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int thread = t;
        futures.add(
            pool.submit(
                () -> {
                  List<OutboxEvent> mine = new ArrayList<>();
                  for (int i = 0; i < 25; i++) {
                    int n = i;
                    mine.add(
                        tx.inTransaction(
                            c -> outbox.append("Payment", "t" + thread, "E" + n, null)));
                  }
                  return mine;
                }));
      }
      Set<UUID> ids = new HashSet<>();
      for (Future<List<OutboxEvent>> future : futures) {
        future.get().forEach(e -> ids.add(e.id()));
      }
      assertThat(ids).hasSize(100);
      assertThat(count()).isEqualTo(100);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aCustomTableWorksAndIsCheckedByName() throws SQLException {
    OutboxTable custom = OutboxTable.of("payment_outbox");
    try (Connection connection = db().dataSource().getConnection()) {
      OutboxSchema.create(connection, dialect, custom);
      OutboxSchema.create(connection, dialect, custom); // idempotent
      OutboxSchema.verify(connection, dialect, custom);
    }
    Outbox customOutbox =
        Outbox.builder().connectionProvider(tx).dialect(dialect).table(custom).build();
    OutboxEvent event = tx.inTransaction(c -> customOutbox.append("Payment", "p", "T", "{}"));
    assertThat(customOutbox.table()).isEqualTo(custom);
    assertThat(count()).isZero();
    try (Connection connection = db().dataSource().getConnection()) {
      assertThat(new JdbcOutboxStore(dialect, custom, 10, 1000).selectOldest(connection, 10))
          .containsExactly(event);
    }
  }

  @Test
  void schemaCheckNamesAMissingTable() throws SQLException {
    try (Connection connection = db().dataSource().getConnection()) {
      assertThatThrownBy(
              () -> OutboxSchema.verify(connection, dialect, OutboxTable.of("no_such_outbox")))
          .isInstanceOfSatisfying(
              OutboxSchemaException.class, e -> assertThat(e.missingColumns()).isEmpty())
          .hasMessageContaining("Outbox table 'no_such_outbox' does not exist")
          .hasMessageContaining(OutboxSchema.scriptLocation(dialect));
    }
  }

  @Test
  void schemaCheckNamesMissingColumns() throws SQLException {
    OutboxTable broken = OutboxTable.of("broken_outbox");
    try (Connection connection = db().dataSource().getConnection();
        Statement statement = connection.createStatement()) {
      OutboxSchema.create(connection, dialect, broken);
      statement.execute("ALTER TABLE broken_outbox DROP COLUMN attempts");
      statement.execute("ALTER TABLE broken_outbox DROP COLUMN published_at");
      assertThatThrownBy(() -> OutboxSchema.verify(connection, dialect, broken))
          .isInstanceOfSatisfying(
              OutboxSchemaException.class,
              e -> assertThat(e.missingColumns()).containsExactly("attempts", "published_at"))
          .hasMessageContaining(
              "Outbox table 'broken_outbox' lacks column(s) [attempts, published_at]");
    }
  }

  /** An outbox builder on {@link #tx} whose executed statements {@code counter} counts. */
  private Outbox.Builder countingBuilder(StatementCounter counter) {
    ConnectionProvider counting =
        new ConnectionProvider() {
          @Override
          public <T> T withTransactionConnection(ConnectionCallback<T> work) throws SQLException {
            return tx.withTransactionConnection(c -> work.apply(counter.wrap(c)));
          }
        };
    return Outbox.builder().connectionProvider(counting).dialect(dialect);
  }

  private List<OutboxEvent> readAll() throws SQLException {
    try (Connection connection = db().dataSource().getConnection()) {
      return new JdbcOutboxStore(dialect, OutboxTable.DEFAULT, 10, 1000)
          .selectOldest(connection, 100_000);
    }
  }

  private long count() throws SQLException {
    try (Connection connection = db().dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SELECT count(*) FROM outbox_event")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private String bookkeeping(UUID id) throws SQLException {
    try (Connection connection = db().dataSource().getConnection();
        var statement =
            connection.prepareStatement(
                "SELECT status, attempts, next_attempt_at, last_error, published_at"
                    + " FROM outbox_event WHERE id = ?")) {
      dialect.setUuid(statement, 1, id);
      try (ResultSet rs = statement.executeQuery()) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getObject("next_attempt_at")).isNull();
        assertThat(rs.getObject("last_error")).isNull();
        assertThat(rs.getObject("published_at")).isNull();
        return rs.getString("status") + "/" + rs.getInt("attempts");
      }
    }
  }
}
