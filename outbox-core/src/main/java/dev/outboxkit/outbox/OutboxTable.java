package dev.outboxkit.outbox;

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
