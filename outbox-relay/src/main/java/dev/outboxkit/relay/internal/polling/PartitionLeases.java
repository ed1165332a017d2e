package dev.outboxkit.relay.internal.polling;

import java.util.Set;

/** The partitions a publishing thread may read and send for; {@link LeaseManager} in production. */
interface PartitionLeases {

  /**
   * The partitions the next batch may read, marked in flight until {@link #endBatch}; empty when
   * none is trusted now.
   */
  Set<Integer> beginBatch(int slot, int slots);

  /** Whether a send may start now for all of {@code partitions}. */
  boolean stillOwns(Set<Integer> partitions);

  void endBatch(Set<Integer> partitions);
}
