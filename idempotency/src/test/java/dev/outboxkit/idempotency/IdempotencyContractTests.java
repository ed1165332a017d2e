package dev.outboxkit.idempotency;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.idempotency.kafka.KafkaInbox;
import dev.outboxkit.outbox.NoActiveTransactionException;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.test.ConcurrentStarts;
import dev.outboxkit.test.MutableClock;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Idempotency keys and the inbox against a real database; one subclass per database. */
@ServerTest
abstract class IdempotencyContractTests {

  abstract TestDatabaseExtension db();

  /**
   * The round trips of an executed call whose work sends nothing: the claim with its lock timeout,
   * the savepoint around claim and work, the stored result.
   */
  abstract int roundTripsOfAnExecutedCall();

  /**
   * A query whose single value is the session's current lock wait timeout, which an executed call
   * sets for its claim and must put back afterwards.
   */
  abstract String lockTimeoutQuery();

  record Receipt(String paymentId, long amountMinor) {}

  private OutboxDialect dialect;
  private JdbcTransactions tx;
  private final MutableClock clock = new MutableClock();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final AtomicInteger runs = new AtomicInteger();

  @BeforeEach
  void cleanTables() throws SQLException {
    try (Connection connection = db().dataSource().getConnection()) {
      dialect = OutboxDialect.detect(connection);
      OutboxTable keys = OutboxTable.of(IdempotencyDefaults.KEY_TABLE);
      OutboxTable inbox = OutboxTable.of(IdempotencyDefaults.INBOX_TABLE);
      IdempotencySchema.create(connection, dialect, keys, inbox);
      IdempotencySchema.verify(connection, dialect, keys, IdempotencySchema.KEY_COLUMNS);
      IdempotencySchema.verify(connection, dialect, inbox, IdempotencySchema.INBOX_COLUMNS);
      try (Statement statement = connection.createStatement()) {
        statement.execute("CREATE TABLE IF NOT EXISTS side_effect (note VARCHAR(100))");
        statement.execute("DELETE FROM side_effect");
        statement.execute("DELETE FROM idempotency_key");
        statement.execute("DELETE FROM inbox_message");
      }
    }
    tx = JdbcTransactions.of(db().dataSource());
  }

  private Idempotency idempotency(Duration lockTimeout) {
    return Idempotency.builder()
        .connectionProvider(tx)
        .dialect(dialect)
        .clock(clock)
        .lockTimeout(lockTimeout)
        .meterRegistry(meters)
        .build();
  }

  /** The work: one business row and a result. */
  private Receipt charge(Connection connection, String paymentId, long amount) {
    runs.incrementAndGet();
    try (var statement = connection.prepareStatement("INSERT INTO side_effect (note) VALUES (?)")) {
      statement.setString(1, paymentId);
      statement.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return new Receipt(paymentId, amount);
  }

  private IdempotencyOutcome<Receipt> call(
      Idempotency idempotency, String key, String fingerprint, long amount) {
    return tx.inTransaction(
        c ->
            idempotency.execute(
                IdempotencyKey.of("client-1", key),
                fingerprint,
                Receipt.class,
                () -> charge(c, key, amount)));
  }

  @Test
  void runsOnceAndReplaysTheStoredResult() throws SQLException {
    Idempotency idempotency = idempotency(Duration.ofSeconds(5));
    IdempotencyOutcome<Receipt> first = call(idempotency, "k-1", "fp-a", 1250);
    IdempotencyOutcome<Receipt> second = call(idempotency, "k-1", "fp-a", 9999);

    assertThat(first).isEqualTo(new IdempotencyOutcome.Executed<>(new Receipt("k-1", 1250)));
    assertThat(second)
        .isInstanceOfSatisfying(
            IdempotencyOutcome.Replayed.class,
            replayed -> assertThat(replayed.result()).isEqualTo(new Receipt("k-1", 1250)));
    assertThat(runs).hasValue(1);
    assertThat(sideEffects()).isOne();
    assertThat(meters.counter("idempotency.requests", "outcome", "executed").count()).isOne();
    assertThat(meters.counter("idempotency.requests", "outcome", "replayed").count()).isOne();
  }

  /** Fingerprint key rotation: a key stored under an earlier fingerprint replays, others do not. */
  @Test
  void earlierFingerprintsReplayAndNewKeysStoreTheCurrentOne() throws SQLException {
    Idempotency idempotency = idempotency(Duration.ofSeconds(5));
    call(idempotency, "k-rot", "fp-old", 1250);

    IdempotencyOutcome<Receipt> rotated =
        tx.inTransaction(
            c ->
                idempotency.execute(
                    IdempotencyKey.of("client-1", "k-rot"),
                    "fp-new",
                    List.of("fp-old"),
                    Receipt.class,
                    () -> charge(c, "k-rot", 9999)));
    IdempotencyOutcome<Receipt> unknownEarlier =
        tx.inTransaction(
            c ->
                idempotency.execute(
                    IdempotencyKey.of("client-1", "k-rot"),
                    "fp-new",
                    List.of("fp-other"),
                    Receipt.class,
                    () -> charge(c, "k-rot", 9999)));
    tx.inTransaction(
        c ->
            idempotency.execute(
                IdempotencyKey.of("client-1", "k-fresh"),
                "fp-new",
                List.of("fp-old"),
                Receipt.class,
                () -> charge(c, "k-fresh", 1)));

    assertThat(rotated)
        .isInstanceOfSatisfying(
            IdempotencyOutcome.Replayed.class,
            replayed -> assertThat(replayed.result()).isEqualTo(new Receipt("k-rot", 1250)));
    assertThat(unknownEarlier).isInstanceOf(IdempotencyOutcome.Mismatch.class);
    assertThat(runs).hasValue(2);
    try (Connection connection = db().dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT fingerprint FROM idempotency_key WHERE idem_key = 'k-fresh'")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("fp-new");
    }
  }

  /**
   * Review finding: MySQL's and MariaDB's {@code utf8mb4_bin} is a PAD SPACE collation, so the
   * primary key compares {@code 'tenant:acme'} and {@code 'tenant:acme '} as equal: a custom scope
   * resolver that hands back a trailing space (a header value, a claim) put two callers in one
   * scope, the second receiving the first's stored result. Such a scope is refused on every
   * database; it never shares a key.
   */
  @Test
  void scopesThatDifferOnlyByATrailingSpaceNeverShareAKey() {
    Idempotency idempotency = idempotency(Duration.ofSeconds(5));
    tx.inTransaction(
        c ->
            idempotency.execute(
                IdempotencyKey.of("tenant:acme", "k-pad"),
                "fp",
                Receipt.class,
                () -> charge(c, "k-pad", 1)));
    try {
      IdempotencyOutcome<?> padded =
          tx.inTransaction(
              c ->
                  idempotency.execute(
                      IdempotencyKey.of("tenant:acme ", "k-pad"),
                      "fp",
                      Receipt.class,
                      () -> charge(c, "k-pad", 2)));
      assertThat(padded)
          .as("outcome for the scope with a trailing space")
          .isNotInstanceOf(IdempotencyOutcome.Replayed.class);
    } catch (InvalidIdempotencyKeyException refused) {
      assertThat(refused).hasMessageContaining("scope must not end with");
    }
    assertThat(runs).as("work run, the refused one not among them").hasValue(1);
  }

  @Test
  void keysAreScopedSoTwoClientsNeverCollide() {
    Idempotency idempotency = idempotency(Duration.ofSeconds(5));
    for (String client : List.of("client-1", "client-2")) {
      tx.inTransaction(
          c ->
              idempotency.execute(
                  IdempotencyKey.of(client, "same-key"),
                  "fp",
                  Receipt.class,
                  () -> charge(c, client, 1)));
    }
    assertThat(runs).hasValue(2);
  }

  @Test
  void theSameKeyForAnotherRequestIsAMismatchAndRunsNothing() {
    Idempotency idempotency = idempotency(Duration.ofSeconds(5));
    call(idempotency, "k-2", "fp-a", 1);
    IdempotencyOutcome<Receipt> other = call(idempotency, "k-2", "fp-b", 1);
    assertThat(other).isInstanceOf(IdempotencyOutcome.Mismatch.class);
    assertThatThrownBy(other::result).isInstanceOf(IdempotencyKeyMismatchException.class);
    assertThat(runs).hasValue(1);
  }

  @Test
  void aRolledBackAttemptLeavesNoKeySoTheRetryRuns() throws SQLException {
    Idempotency idempotency = idempotency(Duration.ofSeconds(5));
    assertThatThrownBy(
            () ->
                tx.execute(
                    c -> {
                      idempotency.execute(
                          IdempotencyKey.of("client-1", "k-3"),
                          "fp",
                          Receipt.class,
                          () -> charge(c, "k-3", 1));
                      throw new IllegalStateException("crash after the work's writes");
                    }))
        .hasMessage("crash after the work's writes");
    assertThat(sideEffects()).isZero();
    assertThat(call(idempotency, "k-3", "fp", 1)).isInstanceOf(IdempotencyOutcome.Executed.class);
    assertThat(sideEffects()).isOne();
    assertThat(runs).hasValue(2);
  }

  @Test
  void failingWorkLeavesNoKeyEvenWhenTheCallerCommitsAnyway() throws SQLException {
    Idempotency idempotency = idempotency(Duration.ofSeconds(5));
    tx.execute(
        c ->
            assertThatThrownBy(
                    () ->
                        idempotency.execute(
                            IdempotencyKey.of("client-1", "k-4"),
                            "fp",
                            Receipt.class,
                            () -> {
                              throw new IllegalArgumentException("card declined");
                            }))
                .hasMessage("card declined"));
    assertThat(keys()).isZero();
    assertThat(call(idempotency, "k-4", "fp", 1)).isInstanceOf(IdempotencyOutcome.Executed.class);
  }

  @Test
  void failedWorkLeavesNeitherItsWritesNorItsKeyWhenTheCallerCommitsAnyway() throws SQLException {
    Idempotency idempotency = idempotency(Duration.ofSeconds(5));
    tx.execute(
        c -> {
          assertThatThrownBy(
                  () ->
                      idempotency.execute(
                          IdempotencyKey.of("client-1", "k-10"),
                          "fp",
                          Receipt.class,
                          () -> {
                            charge(c, "half-done", 1);
                            throw new IllegalArgumentException("card declined after the write");
                          }))
              .hasMessage("card declined after the write");
          // The caller's transaction is still usable, and its own earlier or later writes stay.
          note(c, "caller");
        });
    assertThat(notes()).containsExactly("caller");
    assertThat(keys()).isZero();
    assertThat(call(idempotency, "k-10", "fp", 7))
        .isEqualTo(new IdempotencyOutcome.Executed<>(new Receipt("k-10", 7)));
    assertThat(call(idempotency, "k-10", "fp", 7))
        .isInstanceOfSatisfying(
            IdempotencyOutcome.Replayed.class,
            replayed -> assertThat(replayed.result()).isEqualTo(new Receipt("k-10", 7)));
    assertThat(notes()).containsExactlyInAnyOrder("caller", "k-10");
  }

  @Test
  void workWhoseStatementFailsLeavesTheCallersTransactionUsable() throws SQLException {
    // On PostgreSQL a failed statement aborts the whole transaction unless a savepoint contains it.
    Idempotency idempotency = idempotency(Duration.ofSeconds(5));
    tx.execute(
        c -> {
          note(c, "before");
          assertThatThrownBy(
                  () ->
                      idempotency.execute(
                          IdempotencyKey.of("client-1", "k-11"),
                          "fp",
                          Receipt.class,
                          () -> {
                            charge(c, "half-done", 1);
                            try (Statement statement = c.createStatement()) {
                              statement.executeUpdate("INSERT INTO no_such_table VALUES (1)");
                            } catch (SQLException e) {
                              throw new IllegalStateException("the work's statement failed", e);
                            }
                            return new Receipt("never", 0);
                          }))
              .hasMessage("the work's statement failed");
          note(c, "after");
        });
    assertThat(notes()).containsExactlyInAnyOrder("before", "after");
    assertThat(keys()).isZero();
  }

  @Test
  void aResultThatCannotBeStoredLeavesNothingAndTheRetryStoresAProperResult() throws SQLException {
    AtomicInteger encodingFailures = new AtomicInteger(1);
    ResultCodec json = ResultCodec.json();
    ResultCodec failingOnce =
        new ResultCodec() {
          @Override
          public byte[] encode(Object result) {
            if (encodingFailures.getAndDecrement() > 0) {
              throw new IllegalStateException("cannot encode the result");
            }
            return json.encode(result);
          }

          @Override
          public <T> T decode(byte[] bytes, Class<T> type) {
            return json.decode(bytes, type);
          }
        };
    Idempotency idempotency =
        Idempotency.builder()
            .connectionProvider(tx)
            .dialect(dialect)
            .clock(clock)
            .resultCodec(failingOnce)
            .meterRegistry(meters)
            .build();
    tx.execute(
        c -> {
          assertThatThrownBy(
                  () ->
                      idempotency.execute(
                          IdempotencyKey.of("client-1", "k-12"),
                          "fp",
                          Receipt.class,
                          () -> charge(c, "k-12", 3)))
              .hasMessage("cannot encode the result");
          note(c, "caller");
        });
    assertThat(keys()).isZero();
    assertThat(notes()).containsExactly("caller");
    assertThat(call(idempotency, "k-12", "fp", 3))
        .isEqualTo(new IdempotencyOutcome.Executed<>(new Receipt("k-12", 3)));
    IdempotencyOutcome<Receipt> replay = call(idempotency, "k-12", "fp", 3);
    assertThat(replay).isInstanceOf(IdempotencyOutcome.Replayed.class);
    assertThat(replay.result()).isEqualTo(new Receipt("k-12", 3));
    assertThat(runs).hasValue(2);
    assertThat(notes()).containsExactlyInAnyOrder("caller", "k-12");
  }

  @Test
  void aFailedHandlerLeavesNeitherItsWritesNorItsIdWhenTheCallerCommitsAnyway()
      throws SQLException {
    Inbox inbox = Inbox.builder().connectionProvider(tx).dialect(dialect).clock(clock).build();
    tx.execute(
        c -> {
          assertThatThrownBy(
                  () ->
                      inbox.process(
                          "ledger",
                          "event-half",
                          () -> {
                            charge(c, "half-done", 1);
                            throw new IllegalStateException("handler failed after the write");
                          }))
              .hasMessage("handler failed after the write");
          note(c, "caller");
        });
    assertThat(notes()).containsExactly("caller");
    assertThat(inboxIds()).isZero();
    tx.execute(
        c ->
            assertThat(inbox.process("ledger", "event-half", () -> charge(c, "redo", 1))).isTrue());
    tx.execute(
        c ->
            assertThat(inbox.process("ledger", "event-half", () -> charge(c, "dup", 1))).isFalse());
    assertThat(notes()).containsExactlyInAnyOrder("caller", "redo");
  }

  @Test
  void aBatchWithAFailingRecordKeepsOnlyTheRecordsHandledBeforeIt() throws SQLException {
    KafkaInbox inbox =
        KafkaInbox.of(
            Inbox.builder().connectionProvider(tx).dialect(dialect).clock(clock).build(), "ledger");
    List<ConsumerRecord<String, String>> batch = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ConsumerRecord<String, String> record =
          new ConsumerRecord<>("payments", 0, i, "key", "booking-" + i);
      record
          .headers()
          .add(OutboxHeaders.EVENT_ID, ("batch-event-" + i).getBytes(StandardCharsets.UTF_8));
      batch.add(record);
    }
    tx.execute(
        c ->
            assertThatThrownBy(
                    () ->
                        inbox.processAll(
                            batch,
                            record -> {
                              charge(c, record.value(), 1);
                              if (record.offset() == 1) {
                                throw new IllegalStateException("poison record");
                              }
                            }))
                .hasMessage("poison record"));
    assertThat(notes()).containsExactly("booking-0");
    assertThat(inboxIds()).isOne();
    tx.execute(c -> assertThat(inbox.processAll(batch, r -> charge(c, r.value(), 1))).isEqualTo(2));
    assertThat(notes()).containsExactlyInAnyOrder("booking-0", "booking-1", "booking-2");
  }

  @Test
  void anExpiredKeyRunsAgain() {
    Idempotency idempotency =
        Idempotency.builder()
            .connectionProvider(tx)
            .dialect(dialect)
            .clock(clock)
            .ttl(Duration.ofMinutes(10))
            .build();
    call(idempotency, "k-5", "fp", 1);
    clock.advance(Duration.ofMinutes(9));
    assertThat(call(idempotency, "k-5", "fp", 1)).isInstanceOf(IdempotencyOutcome.Replayed.class);
    clock.advance(Duration.ofMinutes(2));
    assertThat(call(idempotency, "k-5", "other-fp", 1))
        .isInstanceOf(IdempotencyOutcome.Executed.class);
    assertThat(runs).hasValue(2);
  }

  /**
   * Issue 23 (HTTP idempotency adds at most 0.5 ms at p50): every round trip counts. PostgreSQL
   * sends the savepoint, the bounded claim and the restore of its lock timeout in one string, and
   * the release with the result (2); MariaDB claims with one statement that carries its own lock
   * timeout (savepoint, claim, result: 3); MySQL keeps the session's timeout in a user variable
   * while it sets its own (savepoint, set, claim, restore, result: 5). Neither releases the
   * savepoint: it ends with the transaction. Before, both took 7 (savepoint, read the timeout, set
   * it, claim, restore, result, release).
   */
  @Test
  void anExecutedCallTakesOnlyTheRoundTripsItsDatabaseNeeds() {
    RoundTripCounter counter = new RoundTripCounter(db().dataSource());
    JdbcTransactions counted = JdbcTransactions.of(counter.dataSource());
    Idempotency idempotency =
        Idempotency.builder()
            .connectionProvider(counted)
            .dialect(dialect)
            .clock(clock)
            .meterRegistry(meters)
            .build();
    int[] sent = new int[1];
    IdempotencyOutcome<Receipt> outcome =
        counted.inTransaction(
            c -> {
              int before = counter.sent();
              IdempotencyOutcome<Receipt> executed =
                  idempotency.execute(
                      IdempotencyKey.of("client-1", "k-trips"),
                      "fp",
                      Receipt.class,
                      () -> new Receipt("k-trips", 1));
              sent[0] = counter.sent() - before;
              return executed;
            });
    IdempotencyOutcome<Receipt> replay =
        counted.inTransaction(
            c ->
                idempotency.execute(
                    IdempotencyKey.of("client-1", "k-trips"),
                    "fp",
                    Receipt.class,
                    () -> new Receipt("never", 0)));
    assertThat(outcome).isEqualTo(new IdempotencyOutcome.Executed<>(new Receipt("k-trips", 1)));
    assertThat(replay).isInstanceOf(IdempotencyOutcome.Replayed.class);
    assertThat(sent[0])
        .as("round trips of an executed call on %s", dialect.name())
        .isEqualTo(roundTripsOfAnExecutedCall());
  }

  /**
   * Two threads, one key: the second waits in its claim; when the first rolls back, the second's
   * claim gets the key and its work runs, exactly once overall.
   */
  @Test
  void aDuplicateWaitingForAFirstAttemptThatRollsBackRunsTheWorkItself() throws Exception {
    Idempotency idempotency = idempotency(Duration.ofSeconds(10));
    CountDownLatch firstHoldsTheKey = new CountDownLatch(1);
    CountDownLatch secondIsClaiming = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      Future<?> first =
          pool.submit(
              () ->
                  tx.execute(
                      c ->
                          idempotency.execute(
                              IdempotencyKey.of("client-1", "k-back"),
                              "fp",
                              Receipt.class,
                              () -> {
                                firstHoldsTheKey.countDown();
                                awaitLatch(secondIsClaiming);
                                sleep(500); // the second is in its claim, waiting for our key
                                throw new IllegalStateException("first attempt failed");
                              })));
      assertThat(firstHoldsTheKey.await(10, TimeUnit.SECONDS)).isTrue();
      Future<IdempotencyOutcome<Receipt>> second =
          pool.submit(
              () ->
                  tx.inTransaction(
                      c -> {
                        secondIsClaiming.countDown();
                        return idempotency.execute(
                            IdempotencyKey.of("client-1", "k-back"),
                            "fp",
                            Receipt.class,
                            () -> charge(c, "k-back", 2));
                      }));
      assertThatThrownBy(() -> first.get(30, TimeUnit.SECONDS))
          .hasRootCauseMessage("first attempt failed");
      assertThat(second.get(30, TimeUnit.SECONDS))
          .isEqualTo(new IdempotencyOutcome.Executed<>(new Receipt("k-back", 2)));
      assertThat(runs).hasValue(1);
      assertThat(sideEffects()).isOne();
      assertThat(keys()).isOne();
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void concurrentDuplicatesWaitForTheFirstAndReplayItsResult() throws Exception {
    Idempotency idempotency = idempotency(Duration.ofSeconds(10));
    List<IdempotencyOutcome<Receipt>> outcomes = concurrently(8, idempotency, "k-6", 300);
    assertThat(runs).hasValue(1);
    assertThat(sideEffects()).isOne();
    assertThat(outcomes).filteredOn(o -> o instanceof IdempotencyOutcome.Executed).hasSize(1);
    assertThat(outcomes).filteredOn(o -> o instanceof IdempotencyOutcome.Replayed).hasSize(7);
  }

  @Test
  void aDuplicateThatWaitsTooLongIsRefusedAndItsTransactionStaysUsable() throws Exception {
    Idempotency idempotency = idempotency(Duration.ofMillis(200));
    CountDownLatch firstHoldsTheKey = new CountDownLatch(1);
    CountDownLatch secondGaveUp = new CountDownLatch(1);
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<IdempotencyOutcome<Receipt>> first =
          pool.submit(
              () ->
                  tx.inTransaction(
                      c ->
                          idempotency.execute(
                              IdempotencyKey.of("client-1", "k-7"),
                              "fp",
                              Receipt.class,
                              () -> {
                                firstHoldsTheKey.countDown();
                                // Hold the key until the second caller has given up: no sleep
                                // that a busy machine could outlast.
                                awaitLatch(secondGaveUp);
                                return charge(c, "k-7", 1);
                              })));
      assertThat(firstHoldsTheKey.await(10, TimeUnit.SECONDS)).isTrue();
      String[] sessionTimeout = new String[2];
      IdempotencyOutcome<Receipt> second =
          tx.inTransaction(
              c -> {
                sessionTimeout[0] = single(c, lockTimeoutQuery());
                IdempotencyOutcome<Receipt> outcome =
                    idempotency.execute(
                        IdempotencyKey.of("client-1", "k-7"),
                        "fp",
                        Receipt.class,
                        () -> charge(c, "k-7", 1));
                // The claim that gave up left the session's own lock timeout in place.
                sessionTimeout[1] = single(c, lockTimeoutQuery());
                // The caller's transaction survived the lock timeout and can still write.
                try (var statement =
                    c.prepareStatement("INSERT INTO side_effect (note) VALUES ('after')")) {
                  statement.executeUpdate();
                }
                return outcome;
              });
      secondGaveUp.countDown();
      assertThat(second).isInstanceOf(IdempotencyOutcome.InFlight.class);
      assertThat(sessionTimeout[1])
          .as("session lock timeout after the claim gave up")
          .isEqualTo(sessionTimeout[0]);
      assertThatThrownBy(second::result).isInstanceOf(IdempotencyKeyInFlightException.class);
      assertThat(first.get(30, TimeUnit.SECONDS)).isInstanceOf(IdempotencyOutcome.Executed.class);
      assertThat(runs).hasValue(1);
      assertThat(sideEffects()).isEqualTo(2); // the work's row and the second caller's own row
    } finally {
      pool.shutdownNow();
    }
  }

  /**
   * Auto-create runs at every start. On tables that are there it must not wait for a handler's open
   * transaction that holds a key: a lock request that waits queues every later caller behind it.
   */
  @Test
  void createOnExistingTablesDoesNotWaitForAnOpenTransactionHoldingAKey() throws Exception {
    Idempotency idempotency = idempotency(Duration.ofSeconds(10));
    CountDownLatch holdsTheKey = new CountDownLatch(1);
    CountDownLatch created = new CountDownLatch(1);
    ExecutorService pool = Executors.newSingleThreadExecutor(r -> new Thread(r, "key-holder"));
    try {
      Future<IdempotencyOutcome<Receipt>> holder =
          pool.submit(
              () ->
                  tx.inTransaction(
                      c ->
                          idempotency.execute(
                              IdempotencyKey.of("client-1", "k-start"),
                              "fp",
                              Receipt.class,
                              () -> {
                                holdsTheKey.countDown();
                                awaitLatch(created);
                                return charge(c, "k-start", 1);
                              })));
      assertThat(holdsTheKey.await(10, TimeUnit.SECONDS)).isTrue();
      ExecutorService starter =
          Executors.newSingleThreadExecutor(r -> new Thread(r, "schema-start-up"));
      try {
        Future<?> start =
            starter.submit(
                () -> {
                  try (Connection connection = db().dataSource().getConnection()) {
                    IdempotencySchema.create(
                        connection,
                        dialect,
                        OutboxTable.of(IdempotencyDefaults.KEY_TABLE),
                        OutboxTable.of(IdempotencyDefaults.INBOX_TABLE));
                  }
                  return null;
                });
        // Bounded: on existing tables the statements take milliseconds unless they wait.
        assertThat(start)
            .as("auto-create at start-up while a caller's transaction holds a key")
            .succeedsWithin(Duration.ofSeconds(20));
      } finally {
        created.countDown();
        starter.shutdownNow();
      }
      assertThat(holder.get(30, TimeUnit.SECONDS)).isInstanceOf(IdempotencyOutcome.Executed.class);
    } finally {
      created.countDown();
      pool.shutdownNow();
    }
  }

  @Test
  void concurrentCallersOnAnExpiredKeyRunTheWorkOnceMore() throws Exception {
    Idempotency idempotency = PurgeFixture.idempotency(tx, dialect, clock, Duration.ofSeconds(10));
    call(idempotency, "k-8", "fp", 1);
    clock.advance(Duration.ofMinutes(2));
    List<IdempotencyOutcome<Receipt>> outcomes = concurrently(6, idempotency, "k-8", 300);
    assertThat(runs).hasValue(2);
    assertThat(outcomes).filteredOn(o -> o instanceof IdempotencyOutcome.Executed).hasSize(1);
    assertThat(outcomes)
        .allSatisfy(o -> assertThat(o).isNotInstanceOf(IdempotencyOutcome.Mismatch.class));
  }

  @Test
  void theSessionLockTimeoutIsRestoredAfterwards() {
    Idempotency idempotency = idempotency(Duration.ofMillis(1234));
    String query = lockTimeoutQuery();
    tx.execute(
        c -> {
          String before = single(c, query);
          idempotency.execute(
              IdempotencyKey.of("client-1", "k-9"), "fp", Receipt.class, () -> charge(c, "k-9", 1));
          assertThat(single(c, query)).isEqualTo(before);
        });
  }

  /**
   * Claims, waits for a held key and gives up, and replays through {@code dataSource} (a pool whose
   * URL asks for other driver options, such as server-side prepared statements).
   */
  void claimsWaitsAndReplaysThrough(DataSource dataSource) throws Exception {
    JdbcTransactions other = JdbcTransactions.of(dataSource);
    Idempotency idempotency =
        Idempotency.builder()
            .connectionProvider(other)
            .dialect(dialect)
            .clock(clock)
            .lockTimeout(Duration.ofMillis(300))
            .meterRegistry(meters)
            .build();
    IdempotencyKey key = IdempotencyKey.of("client-1", "k-options");
    CountDownLatch holds = new CountDownLatch(1);
    CountDownLatch gaveUp = new CountDownLatch(1);
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<IdempotencyOutcome<Receipt>> first =
          pool.submit(
              () ->
                  other.inTransaction(
                      c ->
                          idempotency.execute(
                              key,
                              "fp",
                              Receipt.class,
                              () -> {
                                holds.countDown();
                                awaitLatch(gaveUp);
                                return charge(c, "k-options", 1);
                              })));
      assertThat(holds.await(10, TimeUnit.SECONDS)).isTrue();
      String[] sessionTimeout = new String[2];
      IdempotencyOutcome<Receipt> waited =
          other.inTransaction(
              c -> {
                sessionTimeout[0] = single(c, lockTimeoutQuery());
                IdempotencyOutcome<Receipt> outcome =
                    idempotency.execute(key, "fp", Receipt.class, () -> charge(c, "no", 0));
                sessionTimeout[1] = single(c, lockTimeoutQuery());
                return outcome;
              });
      gaveUp.countDown();
      assertThat(waited).isInstanceOf(IdempotencyOutcome.InFlight.class);
      assertThat(sessionTimeout[1]).isEqualTo(sessionTimeout[0]);
      assertThat(first.get(30, TimeUnit.SECONDS))
          .isEqualTo(new IdempotencyOutcome.Executed<>(new Receipt("k-options", 1)));
      IdempotencyOutcome<Receipt> replay =
          other.inTransaction(
              c -> idempotency.execute(key, "fp", Receipt.class, () -> charge(c, "no", 0)));
      assertThat(replay)
          .isInstanceOfSatisfying(
              IdempotencyOutcome.Replayed.class,
              replayed -> assertThat(replayed.result()).isEqualTo(new Receipt("k-options", 1)));
      assertThat(runs).hasValue(1);
    } finally {
      gaveUp.countDown();
      pool.shutdownNow();
    }
  }

  private static String single(Connection c, String sql) throws SQLException {
    try (Statement statement = c.createStatement();
        ResultSet rs = statement.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  @Test
  void needsATransactionAndValidKeys() {
    Idempotency idempotency = idempotency(Duration.ofSeconds(5));
    assertThatThrownBy(
            () -> idempotency.execute(IdempotencyKey.of("c", "k"), "fp", Receipt.class, () -> null))
        .isInstanceOf(NoActiveTransactionException.class);
    assertThatThrownBy(() -> IdempotencyKey.of("c", ""))
        .isInstanceOf(InvalidIdempotencyKeyException.class)
        .hasMessageContaining("key must not be empty");
    assertThatThrownBy(() -> IdempotencyKey.of("c", "k".repeat(256)))
        .hasMessageContaining("at most 255 characters");
    assertThatThrownBy(() -> IdempotencyKey.of("c", "schlüssel"))
        .hasMessageContaining("visible ASCII");
    assertThatThrownBy(() -> IdempotencyKey.of(" ", "k")).hasMessageContaining("scope");
  }

  @Test
  void purgeDeletesExpiredKeysInBoundedBatches() throws SQLException {
    Idempotency idempotency =
        PurgeFixture.idempotency(tx, dialect, clock, IdempotencyDefaults.LOCK_TIMEOUT);
    for (int i = 0; i < 25; i++) {
      call(idempotency, "old-" + i, "fp", 1);
    }
    clock.advance(Duration.ofMinutes(2));
    call(idempotency, "fresh", "fp", 1);
    IdempotencyPurger purger =
        new IdempotencyPurger(
            db().dataSource(),
            dialect,
            OutboxTable.of("idempotency_key"),
            OutboxTable.of("inbox_message"),
            10,
            2,
            clock,
            meters);
    assertThat(purger.purgeExpired()).isEqualTo(20); // 2 batches of 10: bounded
    assertThat(purger.purgeExpired()).isEqualTo(5);
    assertThat(keys()).isOne();
    assertThat(meters.counter("idempotency.keys.purged").count()).isEqualTo(25);
  }

  @Test
  void theInboxHandlesEachMessageOnceAndCountsDuplicates() throws SQLException {
    Inbox inbox =
        Inbox.builder()
            .connectionProvider(tx)
            .dialect(dialect)
            .clock(clock)
            .meterRegistry(meters)
            .build();
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < 5; i++) {
        String id = "event-" + i;
        tx.execute(c -> inbox.process("ledger", id, () -> charge(c, id, 1)));
      }
    }
    tx.execute(c -> inbox.process("audit", "event-0", () -> charge(c, "audit", 1)));
    assertThat(sideEffects()).isEqualTo(6);
    assertThat(meters.counter("outbox.inbox.duplicates", "consumer", "ledger").count())
        .isEqualTo(5);

    assertThatThrownBy(
            () ->
                tx.execute(
                    c ->
                        inbox.process(
                            "ledger",
                            "event-9",
                            () -> {
                              throw new IllegalStateException("handler failed");
                            })))
        .hasMessage("handler failed");
    tx.execute(
        c -> assertThat(inbox.process("ledger", "event-9", () -> charge(c, "9", 1))).isTrue());
    assertThatThrownBy(() -> tx.execute(c -> inbox.process("ledger", "ünïcode", () -> {})))
        .isInstanceOf(InvalidIdempotencyKeyException.class);
  }

  private List<IdempotencyOutcome<Receipt>> concurrently(
      int callers, Idempotency idempotency, String key, long workMillis) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(callers);
    CountDownLatch start = new CountDownLatch(1);
    try {
      List<Future<IdempotencyOutcome<Receipt>>> futures = new ArrayList<>();
      for (int i = 0; i < callers; i++) {
        futures.add(
            pool.submit(
                () -> {
                  start.await();
                  return tx.inTransaction(
                      c -> {
                        // A read first: on MySQL/MariaDB (REPEATABLE READ) this fixes the snapshot
                        // before the first caller commits its key, which a plain read would miss.
                        try (Statement statement = c.createStatement()) {
                          statement.executeQuery("SELECT count(*) FROM side_effect").close();
                        }
                        return idempotency.execute(
                            IdempotencyKey.of("client-1", key),
                            "fp",
                            Receipt.class,
                            () -> {
                              sleep(workMillis);
                              return charge(c, key, 1);
                            });
                      });
                }));
      }
      start.countDown();
      List<IdempotencyOutcome<Receipt>> outcomes = new ArrayList<>();
      for (Future<IdempotencyOutcome<Receipt>> future : futures) {
        try {
          outcomes.add(future.get(60, TimeUnit.SECONDS));
        } catch (java.util.concurrent.ExecutionException e) {
          // MySQL/MariaDB may pick a deadlock victim among callers replacing an expired key; the
          // victim's transaction is rolled back and it is told to retry, as if in flight.
          if (!(e.getCause() instanceof IdempotencyKeyInFlightException)) {
            throw e;
          }
          outcomes.add(new IdempotencyOutcome.InFlight<>(IdempotencyKey.of("client-1", key)));
        }
      }
      return outcomes;
    } finally {
      pool.shutdownNow();
    }
  }

  private static void awaitLatch(CountDownLatch latch) {
    try {
      if (!latch.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException("the other caller did not finish within 60 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static void note(Connection c, String note) throws SQLException {
    try (var statement = c.prepareStatement("INSERT INTO side_effect (note) VALUES (?)")) {
      statement.setString(1, note);
      statement.executeUpdate();
    }
  }

  private List<String> notes() throws SQLException {
    List<String> notes = new ArrayList<>();
    try (Connection connection = db().dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SELECT note FROM side_effect")) {
      while (rs.next()) {
        notes.add(rs.getString(1));
      }
    }
    return notes;
  }

  /**
   * Instances starting together for the first time each create the key and inbox tables: every one
   * must start (on PostgreSQL two concurrent {@code CREATE TABLE IF NOT EXISTS} of one table failed
   * on the catalog's unique index before the creation took a lock).
   */
  @Test
  void instancesCreatingTheTablesTogetherAllStart() throws Exception {
    List<String> failures =
        ConcurrentStarts.race(
            6,
            5,
            round -> {
              try (Connection connection = db().dataSource().getConnection()) {
                connection.setAutoCommit(true);
                IdempotencySchema.create(
                    connection,
                    dialect,
                    OutboxTable.of("race_key_" + round),
                    OutboxTable.of("race_inbox_" + round));
              }
            });
    assertThat(failures).as("start-ups that failed").isEmpty();
  }

  private int inboxIds() throws SQLException {
    return count("SELECT count(*) FROM inbox_message");
  }

  private int sideEffects() throws SQLException {
    return count("SELECT count(*) FROM side_effect");
  }

  private int keys() throws SQLException {
    return count("SELECT count(*) FROM idempotency_key");
  }

  private int count(String sql) throws SQLException {
    try (Connection connection = db().dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(sql)) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
