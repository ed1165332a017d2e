package dev.outboxkit.relay.internal;

import dev.outboxkit.relay.AuditEntry.Operation;
import dev.outboxkit.relay.BulkResult;
import dev.outboxkit.relay.ParkedEvent;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.ParkedFilter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * A replay or purge of the parked events that match a filter: the parked events up to the newest
 * parked when it began are read page by page ({@link ParkedScan}) and changed in batches, each
 * batch one transaction with its audit record naming the filter and the ids. A run that matches
 * nothing leaves one record saying so. A read that fails leaves a FAILED record too, before the
 * first batch or between two.
 */
final class ParkedBulk {

  /**
   * A change to a batch of parked events, by id, on the batch's connection: only to rows whose seq
   * is at most {@code upTo}, the newest parked when the call began. An event replayed by someone
   * else meanwhile and parked again has a new row past it, which may no longer match the filter
   * (review16): it waits for another call.
   */
  interface Change {
    int apply(Connection c, List<UUID> ids, long upTo) throws SQLException;
  }

  private final ParkedScan scan;
  private final ParkedAudit audit;

  ParkedBulk(ParkedScan scan, ParkedAudit audit) {
    this.scan = scan;
    this.audit = audit;
  }

  /**
   * Changes the matching events in batches of {@code batchSize}. A failure after some batches
   * committed runs {@code afterPartial} (the replay's wake-up for the copies already committed) and
   * throws an exception saying how many events those batches changed.
   */
  BulkResult run(
      Operation operation,
      ParkedFilter filter,
      int batchSize,
      Consumer<BulkResult> progress,
      Change change,
      Runnable afterPartial) {
    Objects.requireNonNull(filter, "filter");
    Objects.requireNonNull(progress, "progress");
    if (batchSize < 1 || batchSize > JdbcParkedEvents.MAX_BATCH) {
      throw new IllegalArgumentException(
          "batchSize must be 1 to " + JdbcParkedEvents.MAX_BATCH + " but was " + batchSize);
    }
    // A replay's record lists every event it replayed (see ParkedEvents.MAX_REPLAY_BATCH).
    int perTransaction =
        operation == Operation.REPLAY
            ? Math.min(batchSize, ParkedEvents.MAX_REPLAY_BATCH)
            : batchSize;
    String what = filter.describe();
    long upTo = audit.read(operation, what, scan::newestSeq);
    BulkResult result = BulkResult.NONE;
    List<UUID> batch = new ArrayList<>();
    long after = Long.MIN_VALUE;
    boolean more = true;
    boolean callback = false;
    try {
      while (more) {
        long from = after;
        ParkedScan.Page page = audit.read(operation, what, c -> scan.page(c, filter, from, upTo));
        after = page.last();
        more = page.more();
        for (ParkedEvent event : page.events()) {
          batch.add(event.id());
          if (batch.size() == perTransaction) {
            result = commit(operation, what, batch, change, upTo, result);
            callback = true;
            progress.accept(result);
            callback = false;
            batch.clear();
          }
        }
      }
      if (!batch.isEmpty() || result.batches() == 0) {
        result = commit(operation, what, batch, change, upTo, result);
        callback = true;
        progress.accept(result);
      }
    } catch (RuntimeException e) {
      if (result.batches() == 0) {
        throw e;
      }
      afterPartial.run();
      if (callback || DatabaseFailures.sqlCause(e) == null) {
        // The caller's own progress callback (whatever its cause: its own database work too,
        // review15), or a defect here that is not the database's. No batch failed: the caller
        // gets it as it was, with its stack trace.
        throw e;
      }
      String verb = operation.name().toLowerCase(Locale.ROOT);
      String done = operation == Operation.REPLAY ? "replayed" : "purged";
      throw audit.partial(
          "Could not "
              + verb
              + " every parked event matching "
              + what
              + ": "
              + result.batches()
              + (result.batches() == 1 ? " batch" : " batches")
              + " committed ("
              + result.changed()
              + " of the "
              + result.matched()
              + " events they held were "
              + done
              + "), then one failed; the events after them were not "
              + done,
          e);
    }
    return result;
  }

  private BulkResult commit(
      Operation operation,
      String what,
      List<UUID> batch,
      Change change,
      long upTo,
      BulkResult before) {
    List<UUID> ids = List.copyOf(batch);
    String target = ids.isEmpty() ? what + ": none matched" : AuditText.withIds(what, ids);
    int changed =
        audit
            .audited(
                operation, target, c -> new ParkedAudit.Done(change.apply(c, ids, upTo), target))
            .count();
    return new BulkResult(
        before.batches() + 1, before.matched() + ids.size(), before.changed() + changed);
  }
}
