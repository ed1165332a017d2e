package dev.outboxkit.outbox.internal.dialect;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Collections;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * What the built-in dialects share: the multi-row insert and standard JDBC type handling. Products
 * override the types their drivers treat differently.
 */
abstract class SqlDialect implements OutboxDialect {

  private final String name;

  SqlDialect(String name) {
    this.name = name;
  }

  @Override
  public final String name() {
    return name;
  }

  @Override
  public String insertStatement(OutboxTable table, int rows) {
    if (rows < 1 || rows > maxRowsPerInsert()) {
      throw new IllegalArgumentException(
          "rows must be between 1 and " + maxRowsPerInsert() + " but was " + rows);
    }
    String row = "(" + String.join(", ", Collections.nCopies(INSERT_COLUMNS.size(), "?")) + ")";
    StringBuilder sql =
        new StringBuilder(64 + rows * (row.length() + 2))
            .append("INSERT INTO ")
            .append(table.qualifiedName())
            .append(" (")
            .append(String.join(", ", INSERT_COLUMNS))
            .append(") VALUES ");
    for (int i = 0; i < rows; i++) {
      sql.append(i == 0 ? "" : ", ").append(row);
    }
    return sql.toString();
  }

  @Override
  public void setUuid(PreparedStatement statement, int index, UUID id) throws SQLException {
    statement.setObject(index, id);
  }

  @Override
  public UUID getUuid(ResultSet rs, String column) throws SQLException {
    return rs.getObject(column, UUID.class);
  }

  @Override
  public void setInstant(PreparedStatement statement, int index, Instant instant)
      throws SQLException {
    statement.setObject(index, instant.atOffset(ZoneOffset.UTC));
  }

  @Override
  public @Nullable Instant getInstant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }

  @Override
  public boolean isMissingTable(SQLException e) {
    return "42S02".equals(e.getSQLState());
  }

  @Override
  public String toString() {
    return name;
  }
}
