package dev.outboxkit.outbox;

import java.util.List;

/**
 * The outbox table is missing or lacks columns. Thrown by {@link OutboxSchema#verify} at start-up
 * so a misconfigured application fails before it takes traffic, not on its first event.
 */
public class OutboxSchemaException extends OutboxException {

  private static final long serialVersionUID = 1L;

  private final String table;
  private final List<String> missingColumns;

  /**
   * @param message what is missing and how to create it
   * @param table the table that was checked
   * @param missingColumns the columns not found; empty when the whole table is missing
   */
  public OutboxSchemaException(String message, String table, List<String> missingColumns) {
    super(message);
    this.table = table;
    this.missingColumns = List.copyOf(missingColumns);
  }

  /** The table that was checked. */
  public String table() {
    return table;
  }

  /** The columns not found; empty when the whole table is missing. */
  public List<String> missingColumns() {
    return missingColumns;
  }
}
