package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.relay.RelayInspection;
import dev.outboxkit.relay.cdc.CdcOptions;
import java.net.URI;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/** PostgreSQL's change log: logical decoding with pgoutput through a slot and a publication. */
final class PostgresChangeLog extends ChangeLogSource {

  @Override
  String dialectName() {
    return "postgresql";
  }

  @Override
  String urlPrefix() {
    return "jdbc:postgresql:";
  }

  @Override
  String connectorClass() {
    return "io.debezium.connector.postgresql.PostgresConnector";
  }

  @Override
  String connectorArtifact() {
    return "debezium-connector-postgres";
  }

  @Override
  void engineProperties(
      Properties p, URI url, OutboxTable table, String database, CdcOptions options) {
    String schema = table.schema() == null ? "public" : table.schema();
    p.setProperty("database.port", String.valueOf(url.getPort() < 0 ? 5432 : url.getPort()));
    p.setProperty("database.dbname", database);
    p.setProperty("plugin.name", "pgoutput");
    p.setProperty("slot.name", options.name());
    // A slot still held by a deposed holder's session is taken from it before the engine starts
    // (CdcEngineRunner); the server frees it a moment later. Debezium's default wait between
    // attempts (10 s) would make that moment the bulk of a takeover.
    p.setProperty("slot.retry.delay.ms", "500");
    p.setProperty("publication.name", options.publication());
    p.setProperty("publication.autocreate.mode", "disabled");
    p.setProperty("table.include.list", schema + "\\." + table.name());
    CdcEngineConfig.snapshotInSeqOrder(p, schema + "." + table.name());
    // A logical message passes any publication filter, so the slot's position moves on while
    // only other tables change; without it the server keeps their WAL for the slot.
    p.setProperty(
        "heartbeat.action.query",
        "SELECT pg_logical_emit_message(false, '"
            + CdcEngineConfig.HEARTBEAT_PREFIX
            + "', now()::varchar)");
  }

  @Override
  void preflight(Connection c, Connection cdc, CdcOptions options, OutboxTable outbox, String user)
      throws SQLException {
    CdcPreflight.postgres(c, options, outbox, user);
  }

  @Override
  List<RelayInspection.Check> checks(
      Connection c, Connection cdc, CdcOptions options, OutboxTable outbox, String user) {
    String publication = options.publication();
    return List.of(
        CdcChecks.check("wal_level", () -> CdcPreflight.walLevel(c)),
        CdcChecks.check(
            "replication privilege of '" + user + "' (outbox.relay.cdc.username)",
            () -> {
              CdcPreflight.replication(c, user);
              return "REPLICATION, superuser or rds_replication";
            }),
        CdcChecks.check(
            "publication '" + publication + "' (outbox.relay.cdc.publication)",
            () -> {
              if (options.autoCreate() && !CdcPreflight.publicationExists(c, publication)) {
                return CdcChecks.CREATED_AT_START;
              }
              CdcPreflight.publication(c, options, outbox, false);
              return "includes " + outbox;
            }),
        CdcChecks.check(
            "replication slot '" + options.name() + "' (outbox.relay.cdc.name)",
            () -> slot(c, options.name())));
  }

  /**
   * The slot the engine reads through: absent is fine (the engine creates it at its first start);
   * present, it must be a pgoutput slot of this database, and its retained WAL is reported.
   */
  private static String slot(Connection c, String name) throws SQLException {
    try (PreparedStatement s =
        c.prepareStatement(
            "SELECT database, current_database() AS here, plugin, slot_type, active,"
                + " pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) AS retained"
                + " FROM pg_replication_slots WHERE slot_name = ?")) {
      s.setString(1, name);
      try (ResultSet rs = s.executeQuery()) {
        if (!rs.next()) {
          return "absent; the engine creates it at its first start";
        }
        if (!"logical".equals(rs.getString("slot_type"))
            || !"pgoutput".equals(rs.getString("plugin"))
            || !rs.getString("here").equals(rs.getString("database"))) {
          throw new IllegalStateException(
              "slot '"
                  + name
                  + "' is a "
                  + rs.getString("slot_type")
                  + " slot of plugin "
                  + rs.getString("plugin")
                  + " in database "
                  + rs.getString("database")
                  + ", not a pgoutput slot of "
                  + rs.getString("here")
                  + ": choose another outbox.relay.cdc.name, or drop it with SELECT"
                  + " pg_drop_replication_slot('"
                  + name
                  + "') if nothing uses it");
        }
        return (rs.getBoolean("active") ? "present, streaming" : "present, not streaming")
            + ", retains "
            + rs.getString("retained")
            + " of WAL";
      }
    }
  }

  @Override
  List<RelayInspection.ReplicationSlot> slots(Connection c) throws SQLException {
    List<RelayInspection.ReplicationSlot> slots = new ArrayList<>();
    try (PreparedStatement s =
            c.prepareStatement(
                "SELECT slot_name, plugin, slot_type, database, active, active_pid,"
                    + " restart_lsn::text AS restart_lsn,"
                    + " confirmed_flush_lsn::text AS confirmed_flush_lsn, wal_status,"
                    + " pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS retained"
                    + " FROM pg_replication_slots ORDER BY slot_name");
        ResultSet rs = s.executeQuery()) {
      while (rs.next()) {
        Object pid = rs.getObject("active_pid");
        Object retained = rs.getObject("retained");
        slots.add(
            new RelayInspection.ReplicationSlot(
                rs.getString("slot_name"),
                rs.getString("plugin") == null ? rs.getString("slot_type") : rs.getString("plugin"),
                rs.getString("database"),
                rs.getBoolean("active"),
                pid == null ? null : ((Number) pid).intValue(),
                rs.getString("restart_lsn"),
                rs.getString("confirmed_flush_lsn"),
                rs.getString("wal_status"),
                retained == null ? null : ((Number) retained).longValue()));
      }
    }
    return slots;
  }

  @Override
  void tlsProperties(String jdbcUrl, Map<String, String> params, Map<String, String> p) {
    CdcTls.postgres(params, p);
  }

  @Override
  void connectTimeouts(Properties props, Set<String> set, int seconds) {
    CdcPreflight.putUnlessSet(props, set, "connectTimeout", String.valueOf(seconds));
    CdcPreflight.putUnlessSet(props, set, "loginTimeout", String.valueOf(seconds));
    CdcPreflight.putUnlessSet(props, set, "socketTimeout", String.valueOf(seconds));
  }

  @Override
  boolean replicationSlot() {
    return true;
  }

  @Override
  String stateTimestampType() {
    return "TIMESTAMPTZ";
  }

  @Override
  List<String> stateTableStatements(OutboxTable state, OutboxTable history) {
    return List.of(
        """
        CREATE TABLE IF NOT EXISTS %s (
            name       VARCHAR(64)  NOT NULL PRIMARY KEY,
            owner_id   VARCHAR(255),
            epoch      BIGINT       NOT NULL DEFAULT 0,
            expires_at TIMESTAMPTZ,
            offsets    TEXT,
            updated_at TIMESTAMPTZ
        )\
        """
            .formatted(state.qualifiedName()));
  }

  @Override
  String insertIfAbsent(String table, String columns, String values) {
    return "INSERT INTO "
        + table
        + " ("
        + columns
        + ") VALUES ("
        + values
        + ") ON CONFLICT DO NOTHING";
  }

  /**
   * Data-modifying {@code WITH} parts run once, to completion, in the statement's one transaction
   * whether or not the main query reads them; the {@code DELETE} reads the {@code UPDATE}'s {@code
   * RETURNING}, so a lost lease deletes nothing.
   */
  @Override
  String offsetsWithDeleteSql(String stateTable, String outboxTable) {
    return "WITH stored AS (UPDATE "
        + stateTable
        + " SET offsets = ?, updated_at = ? WHERE name = ? AND owner_id = ? AND epoch = ?"
        + " RETURNING 1), deleted AS (DELETE FROM "
        + outboxTable
        + " WHERE status = 'PENDING' AND seq = ANY(?) AND EXISTS (SELECT 1 FROM stored))"
        + " SELECT COUNT(*) FROM stored";
  }

  @Override
  String endReplicationSlotHolderSql() {
    return "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots"
        + " WHERE slot_name = ? AND active_pid IS NOT NULL AND active_pid <> pg_backend_pid()";
  }
}
