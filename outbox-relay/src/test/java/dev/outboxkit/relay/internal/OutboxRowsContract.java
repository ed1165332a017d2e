package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayTables;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The relay's statements on the outbox table ({@link OutboxRows}) that every database must answer
 * alike, one subclass per database ({@code OutboxRowsIntegrationTests} holds PostgreSQL's reads).
 */
abstract class OutboxRowsContract {

  /** More than the 65,535 bind parameters a statement may have. */
  static final int ASKED = 70_000;

  abstract TestDatabaseExtension db();

  /** The outbox table emptied, then {@code messages} appended in one transaction. */
  record Written(OutboxDialect dialect, JdbcTransactions tx, Outbox outbox, List<Long> seqs) {}

  Written emptyTableWith(int partitions, List<OutboxMessage> messages) throws Exception {
    OutboxDialect dialect = RelayTables.create(db().dataSource());
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
    }
    JdbcTransactions tx = JdbcTransactions.of(db().dataSource());
    Outbox outbox =
        Outbox.builder().connectionProvider(tx).dialect(dialect).partitions(partitions).build();
    tx.execute(c -> outbox.appendAll(messages));
    List<Long> seqs = new ArrayList<>();
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT seq FROM outbox_event ORDER BY seq")) {
      while (rs.next()) {
        seqs.add(rs.getLong(1));
      }
    }
    return new Written(dialect, tx, outbox, seqs);
  }

  /** {@code count} events of {@code aggregate}, each on its own key. */
  static List<OutboxMessage> messages(String aggregate, int count) {
    return IntStream.range(0, count)
        .mapToObj(k -> OutboxMessage.of(aggregate, "key-" + k, "Event", "0"))
        .toList();
  }

  /**
   * The check of held rows ({@code OutboxRows.pending}: which of the events the relay's keys are
   * held on are still pending) is asked about every key held on an event a read did not bring, so
   * one check can name more events than a statement can bind parameters (65,535 on PostgreSQL and
   * for statements that MySQL or MariaDB prepare on the server): it must still answer, for each of
   * them.
   *
   * <p>Review8, finding 3: 1,200 events, every third published, asked about among 70,000 seqs (the
   * others of no row). One parameter per seq failed the check on PostgreSQL (the relay logs that at
   * DEBUG and keeps the holds, so it failed again on every read). MySQL's and MariaDB's drivers
   * answered it even so: they prepare on the client by default, and fell back to that with {@code
   * useServerPrepStmts=true} too (tried here); the chunks keep each statement within the server's
   * limit whatever the driver does.
   */
  @Test
  void aCheckOfMoreHeldEventsThanAStatementCanBindAnswersForEachOfThem() throws Exception {
    Written table = emptyTableWith(8, messages("held", 1_200));
    OutboxDialect dialect = table.dialect();
    List<Long> written = table.seqs();
    assertThat(written).hasSize(1_200);
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    List<Long> published = new ArrayList<>();
    for (int i = 0; i < written.size(); i += 3) {
      published.add(written.get(i));
    }
    try (Connection c = db().dataSource().getConnection()) {
      assertThat(rows.markPublished(c, published, null)).isEqualTo(published.size());
    }
    // The written seqs spread over the question, between seqs of no row.
    long absent = written.get(written.size() - 1) + 1;
    List<Long> asked = new ArrayList<>(ASKED);
    int next = 0;
    for (int i = 0; i < ASKED; i++) {
      if (i % (ASKED / written.size()) == 0 && next < written.size()) {
        asked.add(written.get(next++));
      } else {
        asked.add(absent++);
      }
    }
    assertThat(next).isEqualTo(written.size());
    Set<Long> expected = new HashSet<>(written);
    published.forEach(expected::remove);

    Set<Long> pending;
    try (Connection c = db().dataSource().getConnection()) {
      pending = rows.pending(c, asked);
    }
    assertThat(pending).hasSize(800).isEqualTo(expected);
  }

  /**
   * Review8, finding 5: an outcome recorded late (a deposed owner's batch, recorded after the
   * successor counted more refusals of the same row, or after the lease came back to it) wrote its
   * own, older attempt count over the row's and so lowered it: the event then got more attempts
   * than {@code maxAttempts} before it was parked. The count only goes up now: a row at 3 stays at
   * 3 after a late retry or park counted 1, and a row at 1 still goes to 2.
   */
  @Test
  void aLateFailureWithAnOlderCountDoesNotLowerTheAttempts() throws Exception {
    OutboxDialect dialect =
        emptyTableWith(
                8,
                List.of(
                    OutboxMessage.of("late", "retried", "Late", "0"),
                    OutboxMessage.of("late", "parked", "Late", "0"),
                    OutboxMessage.of("late", "counted", "Late", "0")))
            .dialect();
    Map<String, Long> seq = new HashMap<>();
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT aggregateid, seq FROM outbox_event")) {
      while (rs.next()) {
        seq.put(rs.getString(1), rs.getLong(2));
      }
    }
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    Instant due = Instant.parse("2026-12-07T01:00:00Z");
    try (Connection c = db().dataSource().getConnection()) {
      // The successor's count: three refusals of "retried" and "parked", one of "counted".
      rows.recordFailures(
          c,
          List.of(
              new OutboxRows.Failure(seq.get("retried"), 3, due, "third refusal"),
              new OutboxRows.Failure(seq.get("parked"), 3, due, "third refusal"),
              new OutboxRows.Failure(seq.get("counted"), 1, due, "first refusal")));
      // The late outcomes: counted from the rows as the deposed owner read them.
      rows.recordFailures(
          c,
          List.of(
              new OutboxRows.Failure(seq.get("retried"), 1, due.plusSeconds(1), "late refusal"),
              new OutboxRows.Failure(seq.get("parked"), 1, null, "late, too large"),
              new OutboxRows.Failure(seq.get("counted"), 2, due.plusSeconds(2), "second")));
    }
    Map<String, String> recorded = new HashMap<>();
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT aggregateid, status, attempts, last_error FROM outbox_event")) {
      while (rs.next()) {
        recorded.put(
            rs.getString(1), rs.getString(2) + ", " + rs.getInt(3) + ", " + rs.getString(4));
      }
    }
    assertThat(recorded)
        .as("status, attempts, last error")
        .containsEntry("retried", "PENDING, 3, late refusal")
        .containsEntry("parked", "DEAD, 3, late, too large")
        .containsEntry("counted", "PENDING, 2, second");
  }

  /**
   * The relay's acknowledgement (the rows it published, deleted or marked {@code PUBLISHED} by
   * their {@code seq}s) must never wait for a writer's open transaction, nor make a writer wait:
   * the writer is the application's business transaction, and a deadlock between the two rolls the
   * writer back (InnoDB picks the transaction that changed fewer rows).
   *
   * <p>Seen in CI on MariaDB (the rebalancing test's writer, {@code Deadlock found when trying to
   * get lock}) and here, three relays acknowledging while one writer appends 40 rows per
   * transaction: 8 of 4,815 writer transactions rolled back in 20 s. The deadlock: MariaDB and
   * MySQL reached {@code DELETE … WHERE status = 'PENDING' AND seq IN (…)} through the index {@code
   * (status, partition_no, seq)}, a range over every pending row with next-key locks (840 row locks
   * to delete 19 rows), under {@code REPEATABLE READ}. The scan waited for the writer's first,
   * uncommitted row; the writer's next row went into a gap the scan had locked.
   *
   * <p>Here the schedule is made by hand: a writer appends one row and stays open; the relay
   * acknowledges 200 older rows, which must finish (and commit) while the writer is open; then the
   * writer appends again, which must not wait for the relay, and commits.
   */
  @ParameterizedTest(name = "keep published rows: {0}")
  @ValueSource(booleans = {false, true})
  void anAcknowledgementNeitherWaitsForNorBlocksAWritersOpenTransaction(boolean keep)
      throws Exception {
    Written table = emptyTableWith(16, messages("ack", 400));
    OutboxDialect dialect = table.dialect();
    JdbcTransactions tx = table.tx();
    Outbox outbox = table.outbox();
    List<Long> acked = table.seqs().subList(0, 200);
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    @Nullable Instant publishedAt = keep ? Instant.parse("2026-12-07T07:00:00Z") : null;
    ExecutorService threads = Executors.newFixedThreadPool(2);
    try {
      CountDownLatch firstRowWritten = new CountDownLatch(1);
      CompletableFuture<Integer> acknowledgement = new CompletableFuture<>();
      Future<?> writer =
          threads.submit(
              () -> {
                tx.execute(
                    c -> {
                      outbox.append(OutboxMessage.of("ack", "key-0", "Late", "1"));
                      firstRowWritten.countDown();
                      try {
                        acknowledgement.get(10, TimeUnit.SECONDS);
                      } catch (TimeoutException e) {
                        throw new AssertionError(
                            "the acknowledgement waited 10 s for the writer's open transaction", e);
                      } catch (InterruptedException | ExecutionException e) {
                        throw new AssertionError("the acknowledgement failed", e);
                      }
                      outbox.append(OutboxMessage.of("ack", "key-1", "Late", "2"));
                    });
                return null;
              });
      assertThat(firstRowWritten.await(10, TimeUnit.SECONDS)).isTrue();
      threads.execute(
          () -> {
            try (Connection c = db().dataSource().getConnection()) {
              c.setAutoCommit(false);
              int marked = rows.markPublished(c, acked, publishedAt);
              c.commit();
              acknowledgement.complete(marked);
            } catch (Throwable e) {
              acknowledgement.completeExceptionally(e);
            }
          });
      writer.get(60, TimeUnit.SECONDS);
      assertThat(acknowledgement.get(60, TimeUnit.SECONDS)).isEqualTo(200);
    } finally {
      threads.shutdownNow();
    }
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT COUNT(*) FROM outbox_event WHERE status = 'PENDING'")) {
      rs.next();
      assertThat(rs.getInt(1)).as("pending rows: 200 not acknowledged, 2 late").isEqualTo(202);
    }
  }

  /**
   * Review14 (failed on d420ffe on MySQL and MariaDB, passed on PostgreSQL). 79d44e6 made the
   * acknowledgement reach rows by primary key; the housekeeping's purge of kept published rows
   * ({@code OutboxStats.purgePublished}, MySQL/MariaDB: {@code DELETE FROM outbox_event WHERE
   * status = 'PUBLISHED' AND published_at < ? ORDER BY seq LIMIT ?}, every min(60 s, keep/2),
   * batches of 1,000 until one deletes fewer) still scans: {@code published_at} is in no index, so
   * the batch that finds fewer than 1,000 old rows reads on through EVERY kept row, and under
   * {@code REPEATABLE READ} InnoDB keeps a next-key lock on each row it read, matched or not.
   * Through {@code (status, seq)} the first {@code PUBLISHED} entry's next-key lock covers the gap
   * after the last {@code PENDING} entry, where every writer's new row goes ({@code ('PENDING', new
   * seq)}); through the primary key the scan waits for a writer's uncommitted row and then locks
   * the supremum, where every new {@code seq} goes. Either way every writer waits for the whole
   * scan, which on a retention window of millions of rows lasts longer than {@code
   * innodb_lock_wait_timeout} (50 s): the application's transactions fail with error 1205.
   *
   * <p>Here the scan's duration is stood in for by leaving its transaction open (its locks are the
   * statement's, held until it ends): 50 old and 150 kept published rows, 200 pending; the purge
   * deletes the 50; a writer's append must not wait for it.
   */
  @Test
  void thePurgeOfKeptPublishedRowsDoesNotBlockAWriter() throws Exception {
    Written table = emptyTableWith(16, messages("kept", 400));
    OutboxDialect dialect = table.dialect();
    JdbcTransactions tx = table.tx();
    Outbox outbox = table.outbox();
    List<Long> seqs = table.seqs();
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    Instant old = Instant.parse("2026-12-01T00:00:00Z");
    Instant young = Instant.parse("2026-12-07T07:00:00Z");
    try (Connection c = db().dataSource().getConnection()) {
      assertThat(rows.markPublished(c, seqs.subList(0, 50), old)).isEqualTo(50);
      assertThat(rows.markPublished(c, seqs.subList(50, 200), young)).isEqualTo(150);
    }
    OutboxStats stats = new OutboxStats(dialect, OutboxTable.DEFAULT);
    ExecutorService threads = Executors.newFixedThreadPool(1);
    try (Connection purge = db().dataSource().getConnection()) {
      purge.setAutoCommit(false);
      assertThat(stats.purgePublished(purge, Instant.parse("2026-12-05T00:00:00Z"), 1000))
          .isEqualTo(50);
      Future<?> writer =
          threads.submit(
              () -> {
                tx.execute(c -> outbox.append(OutboxMessage.of("kept", "key-0", "Late", "1")));
                return null;
              });
      try {
        writer.get(10, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        throw new AssertionError(
            "a writer's append waited 10 s for the purge of kept published rows", e);
      } finally {
        purge.commit();
      }
      writer.get(60, TimeUnit.SECONDS);
    } finally {
      threads.shutdownNow();
    }
  }

  /**
   * Review15: {@link #thePurgeOfKeptPublishedRowsDoesNotBlockAWriter} with a full batch: the
   * housekeeping purges {@code RelayDefaults.PURGE_BATCH_SIZE} (1,000) rows at a time, and its
   * delete by primary key then names 1,000 {@code seq}s in one {@code IN (…)} list. 1,100 old and
   * 100 kept published rows, 200 pending; the purge deletes 1,000 and its transaction stays open
   * (standing in for the statement's own duration, as in the test above); a writer's append must
   * not wait for it.
   */
  @Test
  void aFullBatchOfThePurgeOfKeptPublishedRowsDoesNotBlockAWriter() throws Exception {
    OutboxDialect dialect = RelayTables.create(db().dataSource());
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM outbox_event");
    }
    JdbcTransactions tx = JdbcTransactions.of(db().dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).partitions(16).build();
    tx.execute(
        c ->
            outbox.appendAll(
                IntStream.range(0, 1_400)
                    .mapToObj(k -> OutboxMessage.of("kept", "key-" + k, "Kept", "0"))
                    .toList()));
    List<Long> seqs = new ArrayList<>();
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT seq FROM outbox_event ORDER BY seq")) {
      while (rs.next()) {
        seqs.add(rs.getLong(1));
      }
    }
    OutboxRows rows = new OutboxRows(dialect, OutboxTable.DEFAULT);
    Instant old = Instant.parse("2026-12-01T00:00:00Z");
    Instant young = Instant.parse("2026-12-07T07:00:00Z");
    try (Connection c = db().dataSource().getConnection()) {
      assertThat(rows.markPublished(c, seqs.subList(0, 1_100), old)).isEqualTo(1_100);
      assertThat(rows.markPublished(c, seqs.subList(1_100, 1_200), young)).isEqualTo(100);
    }
    OutboxStats stats = new OutboxStats(dialect, OutboxTable.DEFAULT);
    ExecutorService threads = Executors.newFixedThreadPool(1);
    try (Connection purge = db().dataSource().getConnection()) {
      purge.setAutoCommit(false);
      assertThat(
              stats.purgePublished(
                  purge,
                  Instant.parse("2026-12-05T00:00:00Z"),
                  dev.outboxkit.relay.RelayDefaults.PURGE_BATCH_SIZE))
          .isEqualTo(1_000);
      Future<?> writer =
          threads.submit(
              () -> {
                tx.execute(c -> outbox.append(OutboxMessage.of("kept", "key-0", "Late", "1")));
                return null;
              });
      try {
        writer.get(10, TimeUnit.SECONDS);
      } catch (TimeoutException e) {
        throw new AssertionError(
            "a writer's append waited 10 s for a full batch (1,000 rows) of the purge of kept"
                + " published rows",
            e);
      } finally {
        purge.commit();
      }
      writer.get(60, TimeUnit.SECONDS);
    } finally {
      threads.shutdownNow();
    }
  }
}
