package dev.outboxkit.idempotency;

import dev.outboxkit.idempotency.internal.IdempotencySql;
import dev.outboxkit.idempotency.internal.InboxSql;
import dev.outboxkit.idempotency.internal.dialect.IdempotencyDialect.PurgedBatch;
import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import javax.sql.DataSource;

/**
 * Deletes expired idempotency keys and inbox entries in bounded batches, each batch its own short
 * transaction, so purging never holds many locks or a long transaction. The Spring starter runs it
 * on a schedule; without Spring, call {@link #purgeExpired()} from your own scheduler.
 */
public final class IdempotencyPurger {

  private final DataSource dataSource;
  private final IdempotencySql keys;
  private final InboxSql inbox;
  private final int batchSize;
  private final int maxBatches;
  private final Clock clock;
  private final OutboxTable keyTable;
  private final OutboxTable inboxTable;
  private final Counter purged;
  private final Counter keyFailures;
  private final Counter inboxFailures;

  /**
   * @param dataSource where the tables are
   * @param dialect the database's dialect
   * @param keyTable the key table
   * @param inboxTable the inbox table
   * @param batchSize rows per delete, at least 1
   * @param maxBatches deletes per call, at least 1, so one call is bounded
   * @param clock the clock that decides what has expired
   * @param registry where {@code idempotency.keys.purged} is counted
   */
  public IdempotencyPurger(
      DataSource dataSource,
      OutboxDialect dialect,
      OutboxTable keyTable,
      OutboxTable inboxTable,
      int batchSize,
      int maxBatches,
      Clock clock,
      MeterRegistry registry) {
    if (batchSize < 1 || maxBatches < 1) {
      throw new IllegalArgumentException("batchSize and maxBatches must be at least 1");
    }
    this.dataSource = dataSource;
    this.keyTable = keyTable;
    this.inboxTable = inboxTable;
    this.keys = IdempotencySql.of(dialect, keyTable);
    this.inbox = InboxSql.of(dialect, inboxTable);
    this.batchSize = batchSize;
    this.maxBatches = maxBatches;
    this.clock = clock;
    this.purged =
        Counter.builder("idempotency.keys.purged")
            .description("Expired idempotency keys and inbox entries deleted")
            .register(registry);
    // Registered now, so a scrape shows 0 before the first failure and alerts can rely on it.
    this.keyFailures = failures(registry, keyTable);
    this.inboxFailures = failures(registry, inboxTable);
  }

  private static Counter failures(MeterRegistry registry, OutboxTable table) {
    return Counter.builder("idempotency.purge.failures")
        .description("Purges of expired idempotency keys or inbox entries that failed, by table")
        .tag("table", table.qualifiedName())
        .register(registry);
  }

  /**
   * Deletes expired rows of both tables, at most {@code batchSize * maxBatches} of each. A table
   * whose purge fails is counted in {@code idempotency.purge.failures{table}}; the other table is
   * still purged, then the first failure is thrown. An {@link Error} is counted and thrown at once.
   *
   * @return the number of rows deleted
   * @throws OutboxStoreException when either table could not be purged
   */
  public int purgeExpired() {
    int total = 0;
    RuntimeException failure = null;
    try {
      total += purge(keys::purge, keyTable);
    } catch (RuntimeException e) {
      keyFailures.increment();
      failure = e;
    } catch (Error e) {
      // Not carried on from, but counted first: a scheduler that ends on it must not end unseen.
      keyFailures.increment();
      throw e;
    }
    try {
      total += purge(inbox::purge, inboxTable);
    } catch (Error e) {
      inboxFailures.increment();
      throw e;
    } catch (RuntimeException e) {
      inboxFailures.increment();
      if (failure == null) {
        failure = e;
      } else {
        failure.addSuppressed(e);
      }
    }
    if (failure != null) {
      throw failure;
    }
    return total;
  }

  private int purge(Batch batchDelete, OutboxTable table) {
    int total = 0;
    try (Connection connection = dataSource.getConnection()) {
      connection.setAutoCommit(true);
      int passedOver = 0;
      for (int batch = 0; batch < maxBatches; batch++) {
        // Rows the last batch passed over (held by an application) are read again first: read
        // that many more, or a batch's worth of held rows would stop the purge (review18).
        PurgedBatch deleted =
            batchDelete.delete(connection, clock.instant(), batchSize + passedOver);
        total += deleted.deleted();
        passedOver = deleted.passedOver();
        if (!deleted.full()) {
          break;
        }
      }
      return total;
    } catch (SQLException e) {
      throw new OutboxStoreException("Could not purge expired rows of " + table.qualifiedName(), e);
    } finally {
      purged.increment(total);
    }
  }

  /** One bounded delete of expired rows. */
  @FunctionalInterface
  private interface Batch {
    PurgedBatch delete(Connection connection, java.time.Instant now, int limit) throws SQLException;
  }
}
