package dev.outboxkit.relay.internal.cdc;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * Published rows whose {@code DELETE} goes out with the next write of the engine's offsets, in one
 * statement (one round trip, one transaction), where the database has such a statement ({@link
 * ChangeLogSource#offsetsWithDeleteSql}). The batch handler defers a batch's published rows here
 * before it marks the batch processed; the offset store, which Debezium calls from within that
 * marking, takes them into the statement that stores the position after the batch; whatever that
 * write did not take (it failed, or found the lease lost) the handler deletes with a statement of
 * its own afterwards. Shared by the handler (engine thread) and the offset store (its own thread).
 */
final class DeletesWithOffsets {

  private final String sql;
  private final AtomicReference<@Nullable List<Long>> pending = new AtomicReference<>();

  /**
   * @param sql the statement of {@link ChangeLogSource#offsetsWithDeleteSql} for the state table
   *     and the outbox table
   */
  DeletesWithOffsets(String sql) {
    this.sql = sql;
  }

  /** The statement that stores the offsets and deletes the rows. */
  String sql() {
    return sql;
  }

  /** Adds published rows to be deleted with the next offsets. */
  void defer(List<Long> seqs) {
    pending.accumulateAndGet(List.copyOf(seqs), DeletesWithOffsets::joined);
  }

  /** Takes the rows waiting for the next offsets, or {@code null} when none wait. */
  @Nullable List<Long> take() {
    return pending.getAndSet(null);
  }

  /** Gives back rows taken by a write that did not delete them. */
  void giveBack(List<Long> seqs) {
    defer(seqs);
  }

  private static List<Long> joined(@Nullable List<Long> waiting, List<Long> more) {
    if (waiting == null) {
      return more;
    }
    List<Long> all = new ArrayList<>(waiting.size() + more.size());
    all.addAll(waiting);
    all.addAll(more);
    return all;
  }
}
