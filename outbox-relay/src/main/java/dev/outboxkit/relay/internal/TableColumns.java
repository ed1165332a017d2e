package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxTable;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The columns a table has, asked by selecting no row from it, and adding the column of a later
 * version to a table an earlier one created. The caller created the table, so it may read and alter
 * it. Two relays starting at once may both find the column missing: the statements say {@code IF
 * NOT EXISTS} where the database has it, and on MySQL, which has not, the loser's "duplicate
 * column" error is ignored once the column is there.
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

  /** Runs {@code statements} when {@code table} has no {@code column}. */
  public static void addIfMissing(
      Connection connection, OutboxTable table, String column, List<String> statements)
      throws SQLException {
    if (of(connection, table).contains(column)) {
      return;
    }
    try (Statement statement = connection.createStatement()) {
      for (String sql : statements) {
        statement.execute(sql);
      }
    } catch (SQLException e) {
      // MySQL's ER_DUP_FIELDNAME: another instance added it meanwhile (MySQL DDL commits at once).
      if (e.getErrorCode() != 1060 || !of(connection, table).contains(column)) {
        throw e;
      }
    }
  }
}
