package dev.outboxkit.outbox.internal;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes envelopes to the outbox table with multi-row {@code INSERT}s: one statement, hence one
 * round trip, per chunk of up to {@code batchSize} rows and {@code batchBytes} of payload and
 * headers. A multi-row insert is used rather than JDBC batching because not every driver turns a
 * batch into one round trip (pgjdbc needs {@code reWriteBatchedInserts}, MySQL {@code
 * rewriteBatchedStatements}).
 */
public final class JdbcOutboxStore {

  private final OutboxDialect dialect;
  private final OutboxTable table;
  private final int batchSize;
  private final int batchBytes;
  private final Map<Integer, String> insertSql = new ConcurrentHashMap<>();
  private final String selectSql;

  public JdbcOutboxStore(OutboxDialect dialect, OutboxTable table, int batchSize, int batchBytes) {
    this.dialect = dialect;
    this.table = table;
    this.batchSize = Math.min(batchSize, dialect.maxRowsPerInsert());
    this.batchBytes = batchBytes;
    this.selectSql =
        "SELECT "
            + String.join(", ", OutboxDialect.INSERT_COLUMNS)
            + " FROM "
            + table.qualifiedName();
  }

  public OutboxDialect dialect() {
    return dialect;
  }

  public OutboxTable table() {
    return table;
  }

  /**
   * Inserts the events in order; returns the number of statements it took. A batch that needs
   * several statements is all-or-nothing: a savepoint undoes the first chunks when a later one
   * fails, so a caller that catches the error and commits anyway never keeps half a batch.
   */
  public int insert(Connection connection, List<OutboxEvent> events) throws SQLException {
    List<Integer> ends = new ArrayList<>();
    for (int from = 0; from < events.size(); from = ends.get(ends.size() - 1)) {
      ends.add(chunkEnd(events, from));
    }
    Savepoint savepoint = ends.size() > 1 ? connection.setSavepoint() : null;
    try {
      int from = 0;
      for (int to : ends) {
        insertChunk(connection, events.subList(from, to));
        from = to;
      }
    } catch (SQLException | RuntimeException e) {
      if (savepoint != null) {
        try {
          connection.rollback(savepoint);
        } catch (SQLException rollbackFailed) {
          e.addSuppressed(rollbackFailed);
        }
      }
      throw e;
    }
    if (savepoint != null) {
      connection.releaseSavepoint(savepoint);
    }
    return ends.size();
  }

  private int chunkEnd(List<OutboxEvent> events, int from) {
    int limit = Math.min(events.size(), from + batchSize);
    long bytes = 0;
    int to = from;
    while (to < limit) {
      bytes += size(events.get(to));
      if (bytes > batchBytes && to > from) {
        break;
      }
      to++;
    }
    return to;
  }

  static long size(OutboxEvent event) {
    long bytes = event.payload() == null ? 0 : event.payload().length;
    for (Map.Entry<String, String> header : event.headers().entrySet()) {
      bytes += header.getKey().length() + header.getValue().length();
    }
    return bytes;
  }

  /**
   * The insert for a number of rows. Cached for the common sizes only (a few events per
   * transaction, and full batches), so the odd sizes of large batches do not pile up strings of
   * many kilobytes.
   */
  private String insertSql(int rows) {
    return rows <= 16 || rows == batchSize
        ? insertSql.computeIfAbsent(rows, n -> dialect.insertStatement(table, n))
        : dialect.insertStatement(table, rows);
  }

  private void insertChunk(Connection connection, List<OutboxEvent> chunk) throws SQLException {
    String sql = insertSql(chunk.size());
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      int index = 1;
      for (OutboxEvent event : chunk) {
        dialect.setUuid(statement, index++, event.id());
        statement.setString(index++, event.aggregateType());
        statement.setString(index++, event.aggregateId());
        statement.setString(index++, event.eventType());
        if (event.payload() == null) {
          statement.setNull(index++, Types.VARBINARY);
        } else {
          statement.setBytes(index++, event.payload());
        }
        statement.setString(index++, HeadersCodec.encode(event.headers()));
        statement.setString(index++, event.tenant());
        dialect.setInstant(statement, index++, event.createdAt());
        statement.setInt(index++, event.partition());
      }
      int inserted = statement.executeUpdate();
      if (inserted != chunk.size()) {
        throw new SQLException(
            "Inserted " + inserted + " outbox rows instead of " + chunk.size() + " into " + table);
      }
    }
  }

  /**
   * Reads the oldest events in append order ({@code seq}).
   *
   * @param limit the most rows to return
   */
  public List<OutboxEvent> selectOldest(Connection connection, int limit) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(selectSql + " ORDER BY seq")) {
      statement.setMaxRows(limit);
      try (ResultSet rs = statement.executeQuery()) {
        List<OutboxEvent> events = new ArrayList<>();
        while (rs.next()) {
          events.add(readEnvelope(rs, dialect));
        }
        return events;
      }
    }
  }

  /**
   * Reads the envelope columns of the current row, as the relay publishes them.
   *
   * @param rs a result set on a row that has the {@link OutboxDialect#INSERT_COLUMNS}
   * @param dialect the dialect that reads ids and timestamps
   */
  public static OutboxEvent readEnvelope(ResultSet rs, OutboxDialect dialect) throws SQLException {
    return new OutboxEvent(
        dialect.getUuid(rs, "id"),
        rs.getString("aggregatetype"),
        rs.getString("aggregateid"),
        rs.getString("type"),
        rs.getBytes("payload"),
        HeadersCodec.decode(rs.getString("headers")),
        rs.getString("tenant"),
        Objects.requireNonNull(dialect.getInstant(rs, "created_at"), "created_at"),
        rs.getInt("partition_no"));
  }
}
