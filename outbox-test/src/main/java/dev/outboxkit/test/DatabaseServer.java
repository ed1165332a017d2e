package dev.outboxkit.test;

/**
 * A running database server (embedded, a local process, a container or an external one) that hands
 * out fresh, isolated databases.
 *
 * <p>Implementations are thread-safe.
 */
public interface DatabaseServer {

  /** The product this server runs. */
  DatabaseKind kind();

  /** A human-readable description, e.g. {@code "embedded PostgreSQL 18.6 on port 41234"}. */
  String description();

  /**
   * Creates an empty database.
   *
   * @param name a name matching {@code [a-z][a-z0-9_]{0,62}}; must not exist yet
   * @return the new database; close it to drop it
   */
  TestDatabase createDatabase(String name);

  /**
   * Drops a database created by {@link #createDatabase(String)}, terminating its connections.
   *
   * @param name the database name
   */
  void dropDatabase(String name);
}
