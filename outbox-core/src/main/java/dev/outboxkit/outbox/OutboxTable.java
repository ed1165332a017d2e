package dev.outboxkit.outbox;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The name of an outbox table, optionally qualified by a schema, validated so it can be placed into
 * SQL safely: letters, digits and underscores, starting with a letter or underscore.
 *
 * <p>Names are used unquoted, so the database folds them as it folds any unquoted identifier (lower
 * case on PostgreSQL, upper case on H2).
 *
 * @param schema the schema (or MySQL database), or {@code null} for the connection's default
 * @param name the table name, at most 48 characters so derived index names fit every database
 */
public record OutboxTable(@Nullable String schema, String name) {

  private static final Pattern SCHEMA = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,62}");
  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,47}");

  // Words that are reserved in PostgreSQL, MySQL, MariaDB or H2 and that a table might be named.
  private static final Set<String> RESERVED =
      Set.of(
          "all",
          "and",
          "as",
          "by",
          "case",
          "check",
          "column",
          "constraint",
          "create",
          "cross",
          "current_date",
          "current_time",
          "current_user",
          "default",
          "delete",
          "desc",
          "distinct",
          "drop",
          "else",
          "end",
          "except",
          "exists",
          "false",
          "fetch",
          "for",
          "foreign",
          "from",
          "full",
          "grant",
          "group",
          "having",
          "in",
          "index",
          "inner",
          "insert",
          "intersect",
          "into",
          "is",
          "join",
          "key",
          "left",
          "like",
          "limit",
          "not",
          "null",
          "offset",
          "on",
          "or",
          "order",
          "outer",
          "primary",
          "references",
          "right",
          "row",
          "rows",
          "select",
          "set",
          "table",
          "then",
          "to",
          "true",
          "union",
          "unique",
          "update",
          "user",
          "using",
          "values",
          "when",
          "where",
          "with");

  /** The default table, {@value OutboxDefaults#TABLE_NAME}, in the connection's default schema. */
  public static final OutboxTable DEFAULT = new OutboxTable(null, OutboxDefaults.TABLE_NAME);

  /**
   * @throws IllegalArgumentException when a part is not a plain identifier
   */
  public OutboxTable {
    if (schema != null && !SCHEMA.matcher(schema).matches()) {
      throw new IllegalArgumentException(
          "Outbox table schema '" + schema + "' must match " + SCHEMA.pattern());
    }
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "Outbox table name '" + name + "' must match " + NAME.pattern());
    }
    for (String part : schema == null ? List.of(name) : List.of(schema, name)) {
      if (RESERVED.contains(part.toLowerCase(Locale.ROOT))) {
        throw new IllegalArgumentException(
            "Outbox table name part '"
                + part
                + "' is a reserved SQL word; names are used unquoted,"
                + " so choose another");
      }
    }
  }

  /**
   * Parses {@code table} or {@code schema.table}.
   *
   * @param qualifiedName the name, never {@code null}
   * @throws IllegalArgumentException when it is not one or two plain identifiers joined by a dot
   */
  public static OutboxTable of(String qualifiedName) {
    int dot = qualifiedName.indexOf('.');
    return dot < 0
        ? new OutboxTable(null, qualifiedName)
        : new OutboxTable(qualifiedName.substring(0, dot), qualifiedName.substring(dot + 1));
  }

  /** The name to use in SQL: {@code schema.name} or {@code name}. */
  public String qualifiedName() {
    return schema == null ? name : schema + "." + name;
  }

  @Override
  public String toString() {
    return qualifiedName();
  }
}
