package dev.outboxkit.outbox.internal;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxException;
import dev.outboxkit.outbox.spi.ConnectionProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * The validated events one transaction appended and the outbox has not inserted yet. They are
 * inserted together, in append order, with one multi-row insert: just before the transaction
 * commits, when they fill one insert ({@code maxRows} or {@code maxBytes}), or when the outbox is
 * asked to flush. One round trip per transaction instead of one per event.
 *
 * <p>Safety rules:
 *
 * <ul>
 *   <li>A failed insert poisons the state: every later flush, and so the commit, throws, so the
 *       transaction cannot commit without the events (a caller that catches the first error and
 *       commits anyway gets a rolled-back transaction and an exception, never lost events).
 *   <li>Savepoints: at each one the state remembers what it held (events appended before the
 *       savepoint and not yet inserted); a rollback to it restores exactly that, since the database
 *       undoes whatever was inserted after it. A savepoint it never saw predates the state, so a
 *       rollback to it drops everything held.
 *   <li>After {@link #beforeCommit} the state is closed: an append made later in the commit (from
 *       another synchronization) is inserted at once by the caller ({@link #closed()}).
 * </ul>
 *
 * <p>Used on the transaction's thread only; not thread-safe.
 */
public final class HeldAppends implements ConnectionProvider.TransactionBound {

  private final Consumer<List<OutboxEvent>> writer;
  private final int maxRows;
  private final long maxBytes;
  private final List<Mark> marks = new ArrayList<>();
  private List<OutboxEvent> held = new ArrayList<>();
  private long heldBytes;
  private @Nullable RuntimeException failure;
  private boolean closed;

  /**
   * @param writer inserts events in the transaction, in order; throws when the database refuses
   * @param maxRows inserts as soon as this many events are held
   * @param maxBytes inserts as soon as the held payloads and headers reach this size
   */
  public HeldAppends(Consumer<List<OutboxEvent>> writer, int maxRows, long maxBytes) {
    this.writer = writer;
    this.maxRows = maxRows;
    this.maxBytes = maxBytes;
  }

  /** Holds validated events; inserts all held events when they fill one insert. */
  public void hold(List<OutboxEvent> events) {
    held.addAll(events);
    for (OutboxEvent event : events) {
      heldBytes += JdbcOutboxStore.size(event);
    }
    if (held.size() >= maxRows || heldBytes >= maxBytes) {
      flush();
    }
  }

  /** Inserts the held events now, in append order. */
  @Override
  public void flush() {
    if (failure != null) {
      throw new OutboxException(
          "An earlier insert of held outbox events failed in this transaction, so it must roll"
              + " back",
          failure);
    }
    if (held.isEmpty()) {
      return;
    }
    try {
      writer.accept(held);
    } catch (RuntimeException e) {
      failure = e;
      throw e;
    }
    held = new ArrayList<>();
    heldBytes = 0;
  }

  /** Whether the transaction is committing: appends must be inserted at once. */
  public boolean closed() {
    return closed;
  }

  /** The number of events held, not yet inserted. */
  public int size() {
    return held.size();
  }

  @Override
  public void beforeCommit() {
    closed = true;
    flush();
  }

  @Override
  public void savepointSet(Object savepoint) {
    marks.add(new Mark(savepoint, List.copyOf(held), heldBytes, failure));
  }

  @Override
  public void rolledBackToSavepoint(Object savepoint) {
    for (int i = marks.size() - 1; i >= 0; i--) {
      Mark mark = marks.get(i);
      if (mark.savepoint == savepoint) {
        held = new ArrayList<>(mark.held);
        heldBytes = mark.heldBytes;
        failure = mark.failure;
        marks.subList(i + 1, marks.size()).clear();
        return;
      }
    }
    held = new ArrayList<>();
    heldBytes = 0;
    failure = null;
    marks.clear();
  }

  /** What was held when a savepoint was set. */
  private record Mark(
      Object savepoint,
      List<OutboxEvent> held,
      long heldBytes,
      @Nullable RuntimeException failure) {}
}
