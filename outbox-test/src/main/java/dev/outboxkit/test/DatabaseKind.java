package dev.outboxkit.test;

import java.util.Locale;

/** The database products that the test support can provide. */
public enum DatabaseKind {
  POSTGRESQL,
  MARIADB,
  MYSQL,
  H2;

  /** The lower-case name used in environment variables, system properties and messages. */
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }
}
