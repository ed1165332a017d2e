package dev.outboxkit.outbox.jdbc;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.internal.HeadersCodec;
import dev.outboxkit.outbox.internal.JdbcOutboxStore;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * How the writers store an event in the outbox table's columns, for code that reads the table
 * itself: the relay (polling and change data capture) and tools of your own. Reading through this
 * type gives the same {@link OutboxEvent} the writer appended, whatever the database.
 *
 * <p>Stateless and thread-safe. Nothing here opens or closes a connection or transaction.
 *
 * @since 0.1
 */
public final class OutboxColumns {

  private OutboxColumns() {}

  /**
   * Reads the event of the current row.
   *
   * @param rs a result set positioned on a row that has the {@link OutboxDialect#INSERT_COLUMNS}
   * @param dialect the dialect that reads ids and timestamps of this database
   * @return the event as the writer appended it
   * @throws SQLException when a column cannot be read
   * @throws IllegalArgumentException when the {@code headers} column does not hold what a writer
   *     stores (see {@link #decodeHeaders}); the message names the problem, never the values
   */
  public static OutboxEvent readEvent(ResultSet rs, OutboxDialect dialect) throws SQLException {
    return JdbcOutboxStore.readEnvelope(rs, dialect);
  }

  /**
   * The text of the {@code headers} column for these headers: one JSON object of strings.
   *
   * @param headers the headers, possibly empty
   * @return the column's text, or {@code null} (SQL {@code NULL}) when there are none
   */
  public static @Nullable String encodeHeaders(Map<String, String> headers) {
    return HeadersCodec.encode(headers);
  }

  /**
   * The headers stored in a {@code headers} column.
   *
   * @param column the column's text; {@code null} or empty for none
   * @return the headers in the column's order
   * @throws IllegalArgumentException when the text is not a JSON object of non-null values; the
   *     message names the problem and its position, never the values (they may hold personal data)
   */
  public static Map<String, String> decodeHeaders(@Nullable String column) {
    return HeadersCodec.decode(column);
  }
}
