package dev.outboxkit.relay.internal.dialect;

import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * The fields of a PostgreSQL server error that name where a statement failed, read from pgjdbc's
 * {@link ServerErrorMessage}: schema, table, column, data type and constraint. Never DETAIL
 * ("Failing row contains (...)", "Key (aggregateid)=(...) already exists": the row's values), HINT,
 * WHERE (the PL/pgSQL context, which can quote a statement with its values) or the internal query.
 * Only loaded when pgjdbc is on the class path ({@link #driverPresent()}): pgjdbc is an optional
 * dependency of the relay.
 */
final class PgServerErrors {

  private PgServerErrors() {}

  static boolean driverPresent() {
    try {
      Class.forName(
          "org.postgresql.util.PSQLException", false, PgServerErrors.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  /** The fields of {@code e}'s server error, those it has; empty for any other exception. */
  static Map<String, String> fields(SQLException e) {
    if (!(e instanceof PSQLException psql)) {
      return Map.of();
    }
    ServerErrorMessage server = psql.getServerErrorMessage();
    if (server == null) {
      return Map.of();
    }
    Map<String, String> fields = new LinkedHashMap<>();
    put(fields, "schema", server.getSchema());
    put(fields, "table", server.getTable());
    put(fields, "column", server.getColumn());
    put(fields, "data type", server.getDatatype());
    put(fields, "constraint", server.getConstraint());
    return fields;
  }

  private static void put(Map<String, String> fields, String name, @Nullable String value) {
    if (value != null && !value.isEmpty()) {
      fields.put(name, value);
    }
  }
}
