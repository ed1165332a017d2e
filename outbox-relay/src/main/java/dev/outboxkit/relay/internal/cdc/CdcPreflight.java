package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;

/**
 * Checks, before the engine starts, what Debezium would otherwise report late or not at all: the
 * server's change log settings, the user's replication grants and the PostgreSQL publication. Each
 * failure names the setting or grant and the statement that fixes it. The MySQL/MariaDB binlog
 * checks live in {@link BinlogPreflight}.
 */
final class CdcPreflight {

  private CdcPreflight() {}

  /**
   * Opens a connection as the CDC user, to the URL Debezium will read: the server's product and the
   * user's grants are those of that connection, not of the relay's {@code DataSource}.
   */
  static Connection connect(CdcOptions options) {
    return connect(options, CONNECT_TIMEOUT_SECONDS);
  }

  /** {@link #connect(CdcOptions)} with another time limit (tests of the limit wait less). */
  static Connection connect(CdcOptions options, int timeoutSeconds) {
    try {
      return DriverManager.getConnection(
          options.jdbcUrl(), connectionProperties(options, timeoutSeconds));
    } catch (SQLException e) {
      throw new IllegalStateException(
          "CDC relay could not connect to outbox.relay.cdc.url as outbox.relay.cdc.username '"
              + options.username()
              + "': "
              + dev.outboxkit.relay.internal.Secrets.maskedUrl(e.getMessage()),
          causeUnlessItQuotesASecret(e));
    }
  }

  /**
   * The driver's exception as a cause, unless its message quotes a secret (drivers quote a URL they
   * cannot parse whole, {@code password=} included): a stack trace prints every cause.
   */
  static @org.jspecify.annotations.Nullable SQLException causeUnlessItQuotesASecret(
      SQLException e) {
    String message = e.getMessage();
    return java.util.Objects.equals(
            message, dev.outboxkit.relay.internal.Secrets.maskedUrl(message))
        ? e
        : null;
  }

  /**
   * Seconds the start-up checks wait to connect, log in and for each answer, unless the URL says
   * otherwise; the checks' statements are short.
   */
  static final int CONNECT_TIMEOUT_SECONDS = 10;

  /**
   * The CDC user's credentials, and time limits for connecting and logging in that the URL does not
   * set itself: a server that accepts the TCP connection but never answers (a stalled proxy, a
   * half-open failover endpoint) fails the start with a message instead of hanging it. The drivers'
   * own defaults wait without limit for the server's greeting.
   */
  static Properties connectionProperties(CdcOptions options) {
    return connectionProperties(options, CONNECT_TIMEOUT_SECONDS);
  }

  private static Properties connectionProperties(CdcOptions options, int timeoutSeconds) {
    Properties props = new Properties();
    props.setProperty("user", options.username());
    props.setProperty("password", options.password());
    Set<String> set = new java.util.HashSet<>();
    CdcTls.parameters(options.jdbcUrl()).keySet().forEach(n -> set.add(n.toLowerCase(Locale.ROOT)));
    ChangeLogSource.guess(options.jdbcUrl(), null).connectTimeouts(props, set, timeoutSeconds);
    return props;
  }

  static void putUnlessSet(Properties props, Set<String> set, String name, String value) {
    if (!set.contains(name.toLowerCase(Locale.ROOT))) {
      props.setProperty(name, value);
    }
  }

  /**
   * The server the CDC connection talks to, which picks the connector; it must be of the same kind
   * as the relay's {@code DataSource} (the same server, read and written).
   */
  static OutboxDialect source(Connection cdc, OutboxDialect dataSource) throws SQLException {
    OutboxDialect source = OutboxDialect.detect(cdc);
    if (!source.name().equals(dataSource.name())) {
      throw new IllegalStateException(
          "outbox.relay.cdc.url talks to "
              + source.name()
              + " but the relay's DataSource to "
              + dataSource.name()
              + ": both must name the same database server");
    }
    ChangeLogSource log = ChangeLogSource.of(source);
    String connector = log.connectorClass();
    try {
      Class.forName(connector, false, CdcPreflight.class.getClassLoader());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(
          "outbox.relay.cdc.url talks to "
              + source.name()
              + ", whose CDC needs "
              + connector
              + " on the class path: add io.debezium:"
              + log.connectorArtifact(),
          e);
    }
    return source;
  }

  /**
   * Runs every check for {@code source}.
   *
   * @param c a connection of the relay's {@code DataSource} (creates the publication)
   * @param cdc a connection as the CDC user (its grants, the server's settings)
   */
  static void check(
      Connection c,
      Connection cdc,
      OutboxDialect source,
      CdcOptions options,
      OutboxTable outbox,
      String user)
      throws SQLException {
    ChangeLogSource.of(source).preflight(c, cdc, options, outbox, user);
  }

  static void postgres(Connection c, CdcOptions options, OutboxTable outbox, String user)
      throws SQLException {
    walLevel(c);
    replication(c, user);
    publication(c, options, outbox, options.autoCreate());
  }

  /** PostgreSQL's {@code wal_level}, which must be {@code logical}; returns it. */
  static String walLevel(Connection c) throws SQLException {
    String walLevel = single(c, "SHOW wal_level");
    if (!"logical".equals(walLevel)) {
      throw new IllegalStateException(
          "PostgreSQL wal_level is '"
              + walLevel
              + "' but CDC needs 'logical'. Run ALTER SYSTEM SET wal_level = logical and restart"
              + " the server (on RDS/Aurora: rds.logical_replication = 1 in the parameter group),"
              + " or use outbox.relay.mode=polling.");
    }
    return walLevel;
  }

  /** The CDC user may decode the WAL: the REPLICATION attribute, superuser or rds_replication. */
  static void replication(Connection c, String user) throws SQLException {
    // Role attributes are not inherited, but RDS/Aurora grant replication through membership in
    // rds_replication (there is no REPLICATION attribute to give there).
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT r.rolreplication OR r.rolsuper OR EXISTS (SELECT 1 FROM pg_roles g WHERE"
                + " g.rolname = 'rds_replication' AND pg_has_role(r.oid, g.oid, 'MEMBER'))"
                + " FROM pg_roles r WHERE r.rolname = ?")) {
      s.setString(1, user);
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next() || !rs.getBoolean(1)) {
          throw new IllegalStateException(
              "PostgreSQL user '"
                  + user
                  + "' lacks the REPLICATION attribute that logical decoding needs, and is no"
                  + " member of rds_replication. Run ALTER ROLE "
                  + user
                  + " WITH REPLICATION (on RDS/Aurora: GRANT rds_replication TO "
                  + user
                  + ").");
        }
      }
    }
  }

  /**
   * The publication exists and includes the outbox table; created when missing and {@code create}.
   *
   * @return whether it existed
   */
  static boolean publication(Connection c, CdcOptions options, OutboxTable outbox, boolean create)
      throws SQLException {
    String schema = outbox.schema() == null ? "public" : outbox.schema();
    boolean exists = publicationExists(c, options.publication());
    // Inserts only: the relay publishes inserts, and its own deletes (one per published row) and
    // updates (retries, parking) would otherwise double what the server decodes and sends and what
    // the engine parses, only to be ignored (see ChangeDecoder).
    String createStatement =
        "CREATE PUBLICATION "
            + options.publication()
            + " FOR TABLE "
            + schema
            + "."
            + outbox.name()
            + " WITH (publish = 'insert')";
    if (!exists) {
      if (!create) {
        throw new IllegalStateException(
            "PostgreSQL publication '"
                + options.publication()
                + "' does not exist. Run "
                + createStatement
                + " as the table's owner, or set outbox.relay.cdc.auto-create=true.");
      }
      try (Statement s = c.createStatement()) {
        s.execute(createStatement);
      } catch (SQLException e) {
        throw new IllegalStateException(
            "Could not create the publication ("
                + e.getMessage()
                + "). Run "
                + createStatement
                + " as the owner of "
                + outbox
                + ".",
            e);
      }
      return false;
    }
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT 1 FROM pg_publication_tables WHERE pubname = ? AND schemaname = ? AND"
                + " tablename = ?")) {
      s.setString(1, options.publication());
      s.setString(2, schema);
      s.setString(3, outbox.name());
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next()) {
          throw new IllegalStateException(
              "PostgreSQL publication '"
                  + options.publication()
                  + "' does not include "
                  + schema
                  + "."
                  + outbox.name()
                  + ". Run ALTER PUBLICATION "
                  + options.publication()
                  + " ADD TABLE "
                  + schema
                  + "."
                  + outbox.name()
                  + ".");
        }
      }
    }
    return true;
  }

  /** Whether a PostgreSQL publication of this name exists. */
  static boolean publicationExists(Connection c, String publication) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement("SELECT puballtables FROM pg_publication WHERE pubname = ?")) {
      s.setString(1, publication);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next();
      }
    }
  }

  private static String single(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
