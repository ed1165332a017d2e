package dev.outboxkit.relay;

/**
 * Where a bulk replay or purge of parked events stands: reported after every batch, and returned at
 * the end.
 *
 * @param batches how many batches (one transaction and one audit record each) committed
 * @param matched how many parked events matched the filter so far
 * @param changed how many of them were replayed or purged (fewer than matched when another operator
 *     or the retention purge removed some meanwhile)
 * @since 0.8
 */
public record BulkResult(int batches, long matched, long changed) {

  /** Nothing done yet. */
  public static final BulkResult NONE = new BulkResult(0, 0, 0);
}
