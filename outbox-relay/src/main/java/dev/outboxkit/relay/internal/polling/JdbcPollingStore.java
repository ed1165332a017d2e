package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.ReadFloor;
import dev.outboxkit.relay.internal.delivery.DeliveryOutcome;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The outbox table as the polling relay sees it. Marks are retried a few times on SQL errors (a
 * failover): until they succeed the events stay pending and would be sent again, a duplicate and
 * never a loss.
 */
final class JdbcPollingStore implements PollingStore {

  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(JdbcPollingStore.class);

  private final java.util.function.IntConsumer onParked;
  private final Jdbc jdbc;
  private final OutboxRows rows;
  private final @Nullable Duration keepPublishedFor;
  private final Clock clock;
  private final Retry markRetry =
      Retry.of(
          "outboxkit-relay-mark",
          RetryConfig.custom()
              .maxAttempts(5)
              .intervalFunction(IntervalFunction.ofExponentialBackoff(Duration.ofMillis(100), 2))
              .retryExceptions(SQLException.class)
              .build());

  JdbcPollingStore(
      Jdbc jdbc,
      OutboxRows rows,
      @Nullable Duration keepPublishedFor,
      Clock clock,
      java.util.function.IntConsumer onParked) {
    this.onParked = onParked;
    this.jdbc = jdbc;
    this.rows = rows;
    this.keepPublishedFor = keepPublishedFor;
    this.clock = clock;
  }

  @Override
  public OutboxRows.Fetched fetch(
      Set<Integer> partitions,
      int perPartition,
      Map<Integer, List<String>> excluded,
      List<PendingEvent> inFlight,
      Map<Integer, Long> after,
      long maxBytes)
      throws SQLException {
    return fetch(partitions, perPartition, excluded, inFlight, after, maxBytes, ReadFloor.off());
  }

  @Override
  public OutboxRows.Fetched fetch(
      Set<Integer> partitions,
      int perPartition,
      Map<Integer, List<String>> excluded,
      List<PendingEvent> inFlight,
      Map<Integer, Long> after,
      long maxBytes,
      ReadFloor floor)
      throws SQLException {
    Map<Integer, List<Long>> sent = new HashMap<>();
    for (PendingEvent event : inFlight) {
      sent.computeIfAbsent(event.partition(), p -> new ArrayList<>()).add(event.seq());
    }
    List<String> settings = rows.readSettings();
    OutboxRows.Fetched fetched =
        settings.isEmpty()
            ? jdbc.autoCommit(
                c ->
                    rows.fetch(c, partitions, perPartition, excluded, sent, after, maxBytes, floor))
            : jdbc.inTransaction(
                c -> {
                  try (java.sql.Statement statement = c.createStatement()) {
                    for (String setting : settings) {
                      statement.execute(setting);
                    }
                  }
                  return rows.fetch(
                      c, partitions, perPartition, excluded, sent, after, maxBytes, floor);
                });
    if (!fetched.undecodable().isEmpty()) {
      int parked = jdbc.autoCommit(c -> rows.parkUndecodable(c, fetched.undecodable()));
      for (OutboxRows.Undecodable row : fetched.undecodable()) {
        log.error(
            "Parked outbox row seq {} (aggregate id {}): it cannot be read as an event: {}",
            row.seq(),
            row.aggregateId(),
            row.error());
      }
      onParked.accept(parked);
    }
    return fetched;
  }

  @Override
  public Set<Long> pending(java.util.Collection<Long> seqs) throws SQLException {
    return jdbc.autoCommit(c -> rows.pending(c, seqs));
  }

  @Override
  public void record(DeliveryOutcome outcome) throws SQLException {
    List<Long> acked = outcome.acked().stream().map(PendingEvent::seq).toList();
    List<OutboxRows.Failure> failures = new ArrayList<>();
    for (DeliveryOutcome.Failure f : outcome.retries()) {
      failures.add(
          new OutboxRows.Failure(f.event().seq(), f.attempts(), f.nextAttemptAt(), f.error()));
    }
    for (DeliveryOutcome.Failure f : outcome.parked()) {
      failures.add(new OutboxRows.Failure(f.event().seq(), f.attempts(), null, f.error()));
    }
    if (acked.isEmpty() && failures.isEmpty()) {
      return;
    }
    Instant publishedAt = keepPublishedFor == null ? null : clock.instant();
    try {
      markRetry.executeCheckedSupplier(
          () ->
              jdbc.inTransaction(
                  c -> {
                    if (!acked.isEmpty()) {
                      rows.markPublished(c, acked, publishedAt);
                    }
                    if (!failures.isEmpty()) {
                      rows.recordFailures(c, failures);
                    }
                    return null;
                  }));
    } catch (SQLException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable e) {
      throw new IllegalStateException(e);
    }
    // Counted once committed: the parked gauges count the table at once when this number moves.
    if (!outcome.parked().isEmpty()) {
      onParked.accept(outcome.parked().size());
    }
  }
}
