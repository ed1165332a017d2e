package dev.outboxkit.outbox;

import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Creates and checks the outbox table.
 *
 * <p>Production schemas belong to your migration tool: this jar ships the scripts for the default
 * table at {@code dev/outboxkit/schema/<dialect>/V0_1__outboxkit_outbox_event.sql} (Flyway) and
 * {@code dev/outboxkit/schema/liquibase/outboxkit-changelog.xml} (Liquibase); see docs/schema.md.
 * {@link #create} is for development and tests. {@link #verify} runs at start-up so a missing table
 * or column stops the application before its first event, with a message that names what is
 * missing.
 */
public final class OutboxSchema {

  private OutboxSchema() {}

  /**
   * The classpath location of the shipped Flyway script for a dialect (default table only).
   *
   * @param dialect the dialect
   */
  public static String scriptLocation(OutboxDialect dialect) {
    return "dev/outboxkit/schema/" + dialect.name() + "/V0_1__outboxkit_outbox_event.sql";
  }

  /**
   * The statements that create a table and its indexes when missing.
   *
   * @param dialect the database's dialect
   * @param table the table
   */
  public static List<String> createStatements(OutboxDialect dialect, OutboxTable table) {
    return dialect.createTableStatements(table);
  }

  /**
   * Creates the table and its indexes when they do not exist. Safe to run at every start: on an
   * existing table it does not wait for the writers' open transactions ({@link
   * OutboxDialect#createMissingStatements}), and instances starting together create one after
   * another ({@link SchemaCreationLock}).
   *
   * @param connection a connection; with auto-commit off, the caller commits
   * @param dialect the database's dialect
   * @param table the table
   * @throws OutboxStoreException when the database refuses a statement
   */
  public static void create(Connection connection, OutboxDialect dialect, OutboxTable table) {
    try {
      SchemaCreationLock.execute(
          connection, dialect, () -> dialect.createMissingStatements(connection, table));
    } catch (SQLException e) {
      throw new OutboxStoreException("Could not create outbox table " + table, e);
    }
  }

  /**
   * Checks that the table exists with every column the outbox and relay need.
   *
   * <p>Use a connection in auto-commit mode: on PostgreSQL a failed query aborts the surrounding
   * transaction.
   *
   * @param connection a connection to the database
   * @param dialect the database's dialect
   * @param table the table
   * @throws OutboxSchemaException naming the missing table or columns and how to create them
   * @throws OutboxStoreException when the check itself fails for another reason
   */
  public static void verify(Connection connection, OutboxDialect dialect, OutboxTable table) {
    verifyColumns(
        connection, dialect, table, OutboxDialect.REQUIRED_COLUMNS, howToCreate(dialect), "Outbox");
  }

  /**
   * Checks that a table exists with the given columns. Used for every OutboxKit table.
   *
   * @param connection a connection in auto-commit mode
   * @param dialect the database's dialect
   * @param table the table
   * @param requiredColumns lower-case column names
   * @param howToCreate a sentence telling the user how to create what is missing
   * @param label what the table is, e.g. {@code "Outbox"}, for the message
   * @throws OutboxSchemaException naming the missing table or columns
   * @since 0.1
   */
  public static void verifyColumns(
      Connection connection,
      OutboxDialect dialect,
      OutboxTable table,
      List<String> requiredColumns,
      String howToCreate,
      String label) {
    Set<String> present = new HashSet<>();
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery("SELECT * FROM " + table.qualifiedName() + " WHERE 1 = 0")) {
      ResultSetMetaData metaData = rs.getMetaData();
      for (int i = 1; i <= metaData.getColumnCount(); i++) {
        present.add(metaData.getColumnName(i).toLowerCase(Locale.ROOT));
      }
    } catch (SQLException e) {
      if (dialect.isMissingTable(e)) {
        throw new OutboxSchemaException(
            label + " table '" + table + "' does not exist. " + howToCreate,
            table.toString(),
            List.of());
      }
      // A least-privilege user may not read the table (the writer role may only INSERT into the
      // outbox); the catalog still lists the columns of a table it holds any privilege on.
      present.addAll(catalogColumns(connection, table));
      if (present.isEmpty()) {
        throw new OutboxStoreException("Could not check " + label + " table " + table, e);
      }
    }
    List<String> missing = new ArrayList<>();
    for (String column : requiredColumns) {
      if (!present.contains(column)) {
        missing.add(column);
      }
    }
    if (!missing.isEmpty()) {
      throw new OutboxSchemaException(
          label + " table '" + table + "' lacks column(s) " + missing + ". " + howToCreate,
          table.toString(),
          missing);
    }
  }

  private static String howToCreate(OutboxDialect dialect) {
    return "Apply the script "
        + scriptLocation(dialect)
        + " from outbox-core with your migration tool (see docs/schema.md), or for development let"
        + " OutboxKit create the table (Spring Boot: outbox.store.auto-create=true; plain Java:"
        + " OutboxSchema.create).";
  }

  /**
   * The lower-case column names that {@link java.sql.DatabaseMetaData#getColumns} lists for a
   * table, or none when it lists nothing (or fails). The schema of a table is a schema on
   * PostgreSQL and a catalog (database) on MySQL and MariaDB, so both are asked.
   */
  private static Set<String> catalogColumns(Connection connection, OutboxTable table) {
    Set<String> columns = new HashSet<>();
    try {
      java.sql.DatabaseMetaData metaData = connection.getMetaData();
      for (String name :
          List.of(
              table.name(),
              table.name().toLowerCase(Locale.ROOT),
              table.name().toUpperCase(Locale.ROOT))) {
        if (table.schema() == null) {
          addColumns(
              metaData.getColumns(connection.getCatalog(), connection.getSchema(), name, null),
              columns);
        } else {
          addColumns(metaData.getColumns(null, table.schema(), name, null), columns);
          addColumns(metaData.getColumns(table.schema(), null, name, null), columns);
        }
        if (!columns.isEmpty()) {
          break;
        }
      }
    } catch (SQLException e) {
      columns.clear();
    }
    return columns;
  }

  private static void addColumns(ResultSet rs, Set<String> columns) throws SQLException {
    try (rs) {
      while (rs.next()) {
        columns.add(rs.getString("COLUMN_NAME").toLowerCase(Locale.ROOT));
      }
    }
  }
}
