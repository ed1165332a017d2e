package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.cdc.CdcOptions;
import io.debezium.relational.history.SchemaHistory;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * MySQL's change log: the binlog, read by the MySQL connector with a schema history. Either
 * Connector/J (MySQL's or MariaDB's) opens the connection.
 */
class MySqlChangeLog extends ChangeLogSource {

  /**
   * How long the binlog client waits without an event before it reconnects: a dropped stream is
   * read again within two of these.
   */
  static final Duration BINLOG_KEEP_ALIVE = Duration.ofSeconds(5);

  @Override
  String dialectName() {
    return "mysql";
  }

  @Override
  String urlPrefix() {
    return "jdbc:mysql:";
  }

  @Override
  boolean readsUrl(String jdbcUrl) {
    return jdbcUrl.startsWith("jdbc:mysql:") || jdbcUrl.startsWith("jdbc:mariadb:");
  }

  @Override
  String connectorClass() {
    return "io.debezium.connector.mysql.MySqlConnector";
  }

  @Override
  String connectorArtifact() {
    return "debezium-connector-mysql";
  }

  /** MySQL proper: {@code SET PERSIST}, GTID modes; MariaDB has neither. */
  boolean mySqlServer() {
    return true;
  }

  @Override
  void engineProperties(
      Properties p, URI url, OutboxTable table, String database, CdcOptions options) {
    p.setProperty("database.port", String.valueOf(url.getPort() < 0 ? 3306 : url.getPort()));
    p.setProperty("database.server.id", String.valueOf(options.serverId()));
    p.setProperty("database.include.list", database);
    p.setProperty("table.include.list", database + "\\." + table.name());
    CdcEngineConfig.snapshotInSeqOrder(p, database + "." + table.name());
    p.setProperty("include.schema.changes", "false");
    // The first start's snapshot takes a short global read lock (FLUSH TABLES WITH READ LOCK,
    // table locks where that is refused) so that its binlog position and its read view (START
    // TRANSACTION WITH CONSISTENT SNAPSHOT) are taken at one instant. With "none" Debezium takes
    // neither lock nor consistent-snapshot transaction, and a transaction written to the binlog
    // before the position but not yet visible to the read view is lost: see docs/cdc.md.
    p.setProperty("snapshot.locking.mode", "minimal");
    // A binlog connection the server drops (KILL, failover, proxy restart) ends the stream without
    // an error: the connector fails nothing, and only the binlog client's keep-alive thread
    // reconnects, once it finds no event (the server's heartbeats included, sent every 0.8 of this
    // interval) for this long, checking once per interval. Debezium's one minute left an engine
    // reading nothing for one to two minutes while its relay kept the lease; see docs/cdc.md.
    p.setProperty("connect.keep.alive.interval.ms", String.valueOf(BINLOG_KEEP_ALIVE.toMillis()));
    // The key is "internal.schema.history.internal.ddl.filter" (an internal field of Debezium's):
    // "schema.history.internal.ddl.filter", as documented, is read by nothing and changes nothing.
    p.setProperty(SchemaHistory.DDL_FILTER.name(), ddlFilter(table));
  }

  /**
   * The statements of the binlog the connector does not parse: Debezium's own list, and every
   * statement that does not name the outbox table. The connector parses each statement of the whole
   * server's binlog (account, role and other databases' DDL included) before it looks at which
   * tables it touches, and stops on one its grammar lacks: MariaDB's {@code SET DEFAULT ROLE ...
   * FOR ...}, which docs/roles.md prescribes, stopped the engine at that position at every start,
   * and with it every relay streaming from that server. Only a statement that names the outbox
   * table can change how its rows decode; those are still parsed, and one the grammar lacks still
   * stops the engine (Debezium's {@code skip.unparseable.ddl} stays off): skipped, an {@code ALTER}
   * of the outbox table would leave the connector decoding its rows with stale columns.
   *
   * <p>The name counts wherever no letter or digit stands next to it, so an underscore does not
   * make another table of it: online schema change tools alter a shadow copy and rename it into
   * place (gh-ost's {@code _outbox_event_gho}, pt-online-schema-change's and Spirit's {@code
   * _outbox_event_new}, LHM's {@code lhmn_outbox_event}). With word boundaries the shadow's {@code
   * ALTER} was skipped, the rename gave the outbox table the shadow's columns from before it, and
   * the engine stopped at the first row ("internal schema size 15, but row size 16") at every
   * start. A neighbour such as {@code outbox_event_archive} is parsed too, as Debezium would.
   */
  static String ddlFilter(OutboxTable table) {
    // Debezium splits the list at commas and matches each pattern against the whole statement,
    // case-insensitively and across lines.
    return SchemaHistory.DDL_FILTER.defaultValueAsString()
        + ",(?!.*(?<![\\p{L}\\p{N}])"
        + java.util.regex.Pattern.quote(table.name())
        + "(?![\\p{L}\\p{N}])).*";
  }

  /**
   * The replica server id of an engine whose {@code cdc.server-id} is not set: the first eight
   * bytes of the SHA-256 of its name, reduced into the derived range. Stable across starts and
   * releases (a changed id is harmless for the offsets, which are keyed by name, but would surprise
   * an operator who allowed it in a firewall or monitoring rule).
   */
  static long defaultServerId(String engineName) {
    byte[] hash;
    try {
      hash =
          MessageDigest.getInstance("SHA-256").digest(engineName.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
    long span =
        RelayDefaults.CDC_DERIVED_SERVER_ID_MAX - RelayDefaults.CDC_DERIVED_SERVER_ID_MIN + 1;
    return RelayDefaults.CDC_DERIVED_SERVER_ID_MIN
        + Long.remainderUnsigned(ByteBuffer.wrap(hash).getLong(), span);
  }

  @Override
  boolean schemaHistoryNeeded() {
    return true;
  }

  @Override
  void preflight(Connection c, Connection cdc, CdcOptions options, OutboxTable outbox, String user)
      throws SQLException {
    BinlogPreflight.check(cdc, mySqlServer(), user);
  }

  @Override
  void tlsProperties(String jdbcUrl, Map<String, String> params, Map<String, String> p) {
    CdcTls.binlog(params, p, jdbcUrl.startsWith("jdbc:mariadb:"), !mySqlServer());
  }

  /** Connector/J's connectTimeout covers the TCP connect only; the greeting waits on reads. */
  @Override
  void connectTimeouts(Properties props, Set<String> set, int seconds) {
    CdcPreflight.putUnlessSet(props, set, "connectTimeout", String.valueOf(seconds * 1000));
    CdcPreflight.putUnlessSet(props, set, "socketTimeout", String.valueOf(seconds * 1000));
  }

  @Override
  String stateTimestampType() {
    return "DATETIME(6) NULL";
  }

  @Override
  List<String> stateTableStatements(OutboxTable state, OutboxTable history) {
    return List.of(
        """
        CREATE TABLE IF NOT EXISTS %s (
            name       VARCHAR(64)  NOT NULL,
            seq        BIGINT       NOT NULL,
            record     MEDIUMTEXT   NOT NULL,
            PRIMARY KEY (name, seq)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin\
        """
            .formatted(history.qualifiedName()),
        """
        CREATE TABLE IF NOT EXISTS %s (
            name       VARCHAR(64)  NOT NULL,
            owner_id   VARCHAR(255) NULL,
            epoch      BIGINT       NOT NULL DEFAULT 0,
            expires_at DATETIME(6)  NULL,
            offsets    MEDIUMTEXT   NULL,
            updated_at DATETIME(6)  NULL,
            PRIMARY KEY (name)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin\
        """
            .formatted(state.qualifiedName()));
  }

  @Override
  String insertIfAbsent(String table, String columns, String values) {
    return "INSERT IGNORE INTO " + table + " (" + columns + ") VALUES (" + values + ")";
  }
}
