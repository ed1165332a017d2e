package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxTable;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

/**
 * The columns a table has, asked by selecting no row from it: what the schema helpers use to add
 * the columns of a later version to a table an earlier one created. The caller created the table,
 * so it may read it.
 */
public final class TableColumns {

  private TableColumns() {}

  /** The lower-case column names of {@code table}. */
  public static Set<String> of(Connection connection, OutboxTable table) throws SQLException {
    Set<String> columns = new HashSet<>();
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery("SELECT * FROM " + table.qualifiedName() + " WHERE 1 = 0")) {
      ResultSetMetaData metaData = rs.getMetaData();
      for (int i = 1; i <= metaData.getColumnCount(); i++) {
        columns.add(metaData.getColumnName(i).toLowerCase(Locale.ROOT));
      }
    }
    return columns;
  }
}
