package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.ReadFloor;
import dev.outboxkit.relay.internal.delivery.DeliveryOutcome;
import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where the polling relay reads pending events and records what the delivery core decided; {@link
 * JdbcPollingStore} in production, an in-memory outbox in the model-based tests.
 */
interface PollingStore {

  /**
   * Up to {@code perPartition} of the oldest pending events of each partition, in {@code seq}
   * order, leaving out the keys of {@code excluded}, the events of {@code inFlight}, and in the
   * partitions of {@code after} every row up to that {@code seq} and every row of a key that has a
   * pending row up to it (one that committed after the page was read past: its key's later events
   * must not pass it). Stops adding rows, in {@code seq} order, once {@code maxBytes} is reached;
   * the first row always comes.
   */
  OutboxRows.Fetched fetch(
      Set<Integer> partitions,
      int perPartition,
      Map<Integer, List<String>> excluded,
      List<PendingEvent> inFlight,
      Map<Integer, Long> after,
      long maxBytes)
      throws SQLException;

  /**
   * {@link #fetch(Set, int, Map, List, Map, long)} by a publishing thread that keeps {@code floor}:
   * where the store can, a read in {@code seq} order starts at the floor and moves it (see {@link
   * ReadFloor}). By default the floor is not used.
   */
  default OutboxRows.Fetched fetch(
      Set<Integer> partitions,
      int perPartition,
      Map<Integer, List<String>> excluded,
      List<PendingEvent> inFlight,
      Map<Integer, Long> after,
      long maxBytes,
      ReadFloor floor)
      throws SQLException {
    return fetch(partitions, perPartition, excluded, inFlight, after, maxBytes);
  }

  /** Marks acknowledged events published and records retries and parked events, atomically. */
  void record(DeliveryOutcome outcome) throws SQLException;

  /** Which of {@code seqs} are still pending rows (see {@code OutboxRows#pending}). */
  Set<Long> pending(Collection<Long> seqs) throws SQLException;
}
