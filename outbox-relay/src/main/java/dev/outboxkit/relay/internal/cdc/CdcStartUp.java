package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.relay.internal.AuditAccess;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.RelaySettings;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;

/**
 * The CDC relay's checks before anything starts: the URL, TLS, the server the CDC connection
 * reaches, the outbox table, the preflight of the change log, and the state tables. Each failure
 * names what to change, and nothing is registered, created or started before they all passed
 * (except the state tables with {@code auto-create}).
 */
final class CdcStartUp {

  /**
   * What the checks found.
   *
   * @param dialect the database of the outbox (the relay's data source)
   * @param source the server the engine reads, as the CDC connection reports it (picks the
   *     connector)
   */
  record Verified(OutboxDialect dialect, OutboxDialect source) {}

  private CdcStartUp() {}

  /**
   * Runs every check, in an order that names the first cause: the URL, then TLS, then the
   * connection, then the tables.
   *
   * @throws IllegalStateException naming the property or script that fixes a failed check
   * @throws SQLException when the database cannot be reached over the relay's data source
   */
  static Verified verify(RelaySettings settings, CdcOptions options, Jdbc jdbc)
      throws SQLException {
    OutboxDialect d = settings.dialect();
    if (d == null) {
      d = jdbc.autoCommit(OutboxDialect::detect);
    }
    OutboxDialect dialect = d;
    CdcEngineConfig.sourceUrl(options.jdbcUrl());
    // TLS first: a parameter the connector cannot honour, or a certificate the server refuses, is
    // named as such before anything else connects.
    CdcTls.properties(options.jdbcUrl(), options.connectorClass(dialect.name()));
    CdcTls.verifyConnection(options);
    // The connector and the checks follow the server the CDC connection talks to, asked over that
    // connection as the CDC user: a jdbc:mariadb: URL may point at MySQL and the other way round.
    try (Connection cdc = CdcPreflight.connect(options)) {
      OutboxDialect source = CdcPreflight.source(cdc, dialect);
      jdbc.autoCommit(
          c -> {
            OutboxSchema.verify(c, dialect, settings.table());
            CdcPreflight.check(c, cdc, source, options, settings.table(), options.username());
            if (options.autoCreate()) {
              CdcSchema.create(c, dialect, options.stateTable());
            }
            verifyStateTable(c, dialect, options);
            return null;
          });
      AuditAccess.verify(
          jdbc, dialect, settings.table(), "outboxkit_cdc_relay", "outboxkit-roles-cdc.sql");
      return new Verified(dialect, source);
    }
  }

  /** The state table, and on MySQL/MariaDB the schema history table next to it, must exist. */
  static void verifyStateTable(Connection c, OutboxDialect dialect, CdcOptions options) {
    List<OutboxTable> tables =
        ChangeLogSource.of(dialect).schemaHistoryNeeded()
            ? List.of(options.stateTable(), CdcSchema.historyTable(options.stateTable()))
            : List.of(options.stateTable());
    for (OutboxTable table : tables) {
      verifyTable(c, dialect, table);
    }
    OutboxSchema.verifyColumns(
        c,
        dialect,
        options.stateTable(),
        CdcSchema.COLUMNS,
        "Apply "
            + CdcSchema.upgradeScriptLocation(dialect)
            + " and "
            + CdcSchema.relayStateScriptLocation(dialect)
            + " (Flyway) or outboxkit-cdc-changelog.xml (Liquibase), or set"
            + " outbox.relay.cdc.auto-create=true (plain Java: CdcOptions.Builder#autoCreate).",
        "CDC state");
  }

  /** Whether the state table (and the schema history table where needed) exist. */
  static boolean stateTablesExist(Connection c, OutboxDialect dialect, CdcOptions options) {
    List<OutboxTable> tables =
        ChangeLogSource.of(dialect).schemaHistoryNeeded()
            ? List.of(options.stateTable(), CdcSchema.historyTable(options.stateTable()))
            : List.of(options.stateTable());
    for (OutboxTable table : tables) {
      try (PreparedStatement s =
          c.prepareStatement("SELECT name FROM " + table.qualifiedName() + " WHERE 1 = 0")) {
        s.executeQuery().close();
      } catch (SQLException e) {
        return false;
      }
    }
    return true;
  }

  private static void verifyTable(Connection c, OutboxDialect dialect, OutboxTable table) {
    try (PreparedStatement s =
        c.prepareStatement("SELECT name FROM " + table.qualifiedName() + " WHERE 1 = 0")) {
      s.executeQuery().close();
    } catch (SQLException e) {
      throw new IllegalStateException(
          "The CDC table "
              + table
              + " is missing. Apply "
              + CdcSchema.scriptLocation(dialect)
              + " (Flyway) or outboxkit-cdc-changelog.xml (Liquibase), or set"
              + " outbox.relay.cdc.auto-create=true.",
          e);
    }
  }
}
