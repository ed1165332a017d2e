package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayInspection;
import dev.outboxkit.relay.cdc.CdcOptions;
import java.net.URI;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * What CDC needs from one database's change log, asked as capabilities (in the manner of Spring
 * Modulith's {@code DatabaseType}) instead of by switching on the database's name: the Debezium
 * connector, its engine properties, the start-up checks, the TLS properties of the JDBC URL, the
 * state table (and whether Debezium needs a schema history next to it), insert-if-absent for the
 * state row, and whether a replication slot's retained WAL is measured. One class per database,
 * chosen once from the server the CDC connection reaches. No Debezium class is loaded here, so the
 * relay can check the class path first. Immutable.
 */
public abstract class ChangeLogSource {

  /** Only the sources of this package. */
  ChangeLogSource() {}

  /** MariaDB before MySQL: a guess from a binlog URL prefers MariaDB on either sign of it. */
  private static final List<ChangeLogSource> ALL =
      List.of(new PostgresChangeLog(), new MariaDbChangeLog(), new MySqlChangeLog());

  /**
   * The change log of the server a dialect names.
   *
   * @throws IllegalStateException naming the dialect and what it lacks, for a dialect without a
   *     change log source
   */
  static ChangeLogSource of(OutboxDialect dialect) {
    for (ChangeLogSource source : ALL) {
      if (source.dialectName().equals(dialect.name())) {
        return source;
      }
    }
    throw new IllegalStateException(
        "outbox.relay.mode=cdc has no change log source for the dialect '"
            + dialect.name()
            + "' ("
            + dialect.getClass().getName()
            + "): it needs its Debezium connector, engine properties, start-up checks, TLS"
            + " properties and state table, which exist for "
            + String.join(", ", ALL.stream().map(ChangeLogSource::dialectName).toList())
            + ". Use one of those databases, or outbox.relay.mode=polling.");
  }

  /**
   * A first guess before any connection: the source whose driver reads the URL, preferring the
   * dialect's when that driver reads it too (a {@code jdbc:mariadb:} URL may reach MySQL, and the
   * other way round).
   *
   * @param dialectName the detected or configured dialect's name, or {@code null} when not known
   * @throws IllegalArgumentException for a URL no source's driver reads
   */
  static ChangeLogSource guess(String jdbcUrl, @Nullable String dialectName) {
    for (ChangeLogSource source : ALL) {
      if (source.readsUrl(jdbcUrl)
          && (jdbcUrl.startsWith(source.urlPrefix()) || source.dialectName().equals(dialectName))) {
        return source;
      }
    }
    throw new IllegalArgumentException(
        "No CDC source reads the JDBC URL "
            + dev.outboxkit.relay.internal.Secrets.maskedUrl(jdbcUrl));
  }

  /** Whether the driver of any source reads the URL. */
  public static boolean anyReads(String jdbcUrl) {
    return ALL.stream().anyMatch(source -> source.readsUrl(jdbcUrl));
  }

  /**
   * Debezium's connector class for a JDBC URL: the one {@link #guess(String, String)} chooses. For
   * {@code CdcOptions}, which names the connector without choosing the source itself.
   *
   * @throws IllegalArgumentException for a URL no source's driver reads
   */
  public static String connectorClassFor(String jdbcUrl, @Nullable String dialectName) {
    return guess(jdbcUrl, dialectName).connectorClass();
  }

  /**
   * The replica server id a binlog reader uses when {@code cdc.server-id} is not set, derived from
   * the engine name (see {@code MySqlChangeLog}). For {@code CdcOptions}; the PostgreSQL connector
   * ignores it.
   */
  public static long derivedServerId(String engineName) {
    return MySqlChangeLog.defaultServerId(engineName);
  }

  /**
   * The statements that create the state table and, where the connector needs one, the schema
   * history table on the server a dialect names. For {@code CdcSchema}.
   *
   * @throws IllegalStateException naming the dialect, for a dialect without a change log source
   */
  public static List<String> stateTableStatementsFor(
      OutboxDialect dialect, OutboxTable state, OutboxTable history) {
    return of(dialect).stateTableStatements(state, history);
  }

  /**
   * The type of a nullable timestamp column of the state table on the server a dialect names
   * ({@code TIMESTAMPTZ}, {@code DATETIME(6) NULL}), as its {@code expires_at}. For {@code
   * CdcSchema}'s later columns.
   *
   * @throws IllegalStateException naming the dialect, for a dialect without a change log source
   * @since 0.11
   */
  public static String stateTimestampTypeFor(OutboxDialect dialect) {
    return of(dialect).stateTimestampType();
  }

  /**
   * The source whose connector is {@code connectorClass}.
   *
   * @throws IllegalArgumentException for a connector of no source
   */
  static ChangeLogSource ofConnector(String connectorClass) {
    return ALL.stream()
        .filter(source -> source.connectorClass().equals(connectorClass))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("Unknown connector " + connectorClass));
  }

  /** The connectors of the sources whose driver reads the URL; one of them must be present. */
  static List<String> connectorsFor(String jdbcUrl) {
    return ALL.stream()
        .filter(source -> source.readsUrl(jdbcUrl))
        .map(ChangeLogSource::connectorClass)
        .toList();
  }

  /** The {@link OutboxDialect#name()} of the database. */
  abstract String dialectName();

  /** The prefix of the URLs of this database's own JDBC driver. */
  abstract String urlPrefix();

  /** Whether the URL is one this database's connection can be opened with. */
  boolean readsUrl(String jdbcUrl) {
    return jdbcUrl.startsWith(urlPrefix());
  }

  /** Debezium's connector class. */
  abstract String connectorClass();

  /** The Maven artifact of {@link #connectorClass()} in the group {@code io.debezium}. */
  abstract String connectorArtifact();

  /**
   * Sets the connector's own engine properties: port, database, what to capture, a snapshot in
   * {@code seq} order, and how the position moves on.
   *
   * @param database the database (MySQL/MariaDB: also the table's schema) named by the URL or the
   *     table
   */
  abstract void engineProperties(
      Properties p, URI url, OutboxTable table, String database, CdcOptions options);

  /**
   * Whether Debezium keeps a schema history for this connector (then in a table next to the state
   * table).
   */
  boolean schemaHistoryNeeded() {
    return false;
  }

  /**
   * Checks the server's change log settings and the CDC user's grants; names the setting and the
   * fix.
   *
   * @param c a connection of the relay's {@code DataSource}
   * @param cdc a connection as the CDC user
   */
  abstract void preflight(
      Connection c, Connection cdc, CdcOptions options, OutboxTable outbox, String user)
      throws SQLException;

  /**
   * The {@link #preflight} as separate checks for an operator ({@code check} of the CLI), each
   * naming what to change when it fails; reads only, creates nothing. By default one check of the
   * whole preflight (it only reads).
   */
  List<RelayInspection.Check> checks(
      Connection c, Connection cdc, CdcOptions options, OutboxTable outbox, String user) {
    return List.of(
        CdcChecks.check(
            "change log settings and grants of '" + user + "' (outbox.relay.cdc.username)",
            () -> {
              preflight(c, cdc, options, outbox, user);
              return "as CDC needs them";
            }));
  }

  /**
   * Adds the connector's TLS properties for the URL's parameters to {@code p}.
   *
   * @throws IllegalArgumentException for a parameter the connector cannot honour
   */
  abstract void tlsProperties(String jdbcUrl, Map<String, String> params, Map<String, String> p);

  /**
   * Adds the driver's time limits for connecting, logging in and reading that the URL's parameters
   * (lower-case names in {@code set}) do not set.
   */
  abstract void connectTimeouts(Properties props, Set<String> set, int seconds);

  /**
   * A {@code SELECT} that ends any other server session still streaming from the replication slot
   * named by its one string parameter, or {@code null} when the change log has no slots. A CDC
   * relay runs it, as the CDC user, right after it took its engine's lease and before it starts the
   * engine: a slot serves one session at a time, and the session of a holder that was frozen
   * (SIGSTOP, a long pause) keeps the slot until the server's own timeout, so the new engine would
   * be refused and retry for many seconds.
   */
  @Nullable String endReplicationSlotHolderSql() {
    return null;
  }

  /**
   * The change log source of a dialect, or {@code null} for a database without one (H2): for the
   * operator's read of the CDC state, which also runs in polling mode.
   */
  static @Nullable ChangeLogSource find(OutboxDialect dialect) {
    for (ChangeLogSource source : ALL) {
      if (source.dialectName().equals(dialect.name())) {
        return source;
      }
    }
    return null;
  }

  /**
   * Every replication slot of the server, by name, with the WAL it retains; {@code null} when the
   * change log has no slots (then the position is the one Debezium stored in the state table).
   * Reads a view any user may read; for the operator CLI's {@code cdc}.
   */
  @Nullable List<RelayInspection.ReplicationSlot> slots(Connection c) throws SQLException {
    return null;
  }

  /**
   * One statement that stores the engine's offsets under its lease and, only when they were stored,
   * deletes the published rows whose {@code seq}s it binds as one array; {@code null} where the
   * database has no such statement (the rows are then deleted by a statement of their own before
   * the offsets are stored). Parameters: offsets, updated_at, name, owner_id, epoch, then the array
   * of {@code seq}s (SQL type {@code bigint}). It returns one row with one column: the number of
   * state rows updated, 1, or 0 when the lease was lost (then nothing is deleted either).
   */
  @Nullable String offsetsWithDeleteSql(String stateTable, String outboxTable) {
    return null;
  }

  /** Whether the engine reads through a replication slot whose retained WAL is measured. */
  boolean replicationSlot() {
    return false;
  }

  /** The statements that create the state table (and the schema history table) when missing. */
  abstract List<String> stateTableStatements(OutboxTable state, OutboxTable history);

  /** The type of a nullable timestamp column of the state table, as its {@code expires_at}. */
  abstract String stateTimestampType();

  /** An insert of one row that does nothing, rather than fail, when the key already exists. */
  abstract String insertIfAbsent(String table, String columns, String values);
}
