package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayInspection;
import dev.outboxkit.relay.RelayInspection.Check;
import dev.outboxkit.relay.SecretMasking;
import dev.outboxkit.relay.cdc.CdcOptions;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;

/**
 * The CDC relay's start-up checks as a list an operator reads before a deploy ({@code java -jar
 * outbox-relay-app.jar check} in CDC mode, through {@link RelayInspection#check(CdcOptions)} and
 * {@link CdcRelays#checks}): the CDC URL and its TLS parameters, the connection as the CDC user,
 * the server it reaches and its Debezium connector, the change log settings (PostgreSQL: {@code
 * wal_level}, the replication privilege, the publication and the replication slot; MySQL and
 * MariaDB: the binlog settings and the replication grants) and the CDC state table. The same code
 * the relay runs at start, but it never creates anything: a publication or state table that {@code
 * auto-create} would create is reported as such. Each failure names the property, grant or
 * statement that fixes it.
 *
 * @since 0.9
 */
final class CdcChecks {

  /** What a check reads when the relay would create what is missing. */
  static final String CREATED_AT_START =
      "absent; the relay creates it at start (outbox.relay.cdc.auto-create=true)";

  private CdcChecks() {}

  /**
   * Runs every check that can run: a URL, TLS parameter or connection that fails ends the list
   * there, since the others need the connection.
   *
   * @param dataSource the relay's data source (the outbox's database)
   * @param dialect its dialect
   * @param outbox the outbox table
   * @param options the CDC options as the relay would use them
   * @return the checks, in the order the relay runs them
   * @throws SQLException when the relay's data source cannot be reached
   */
  static List<Check> run(
      DataSource dataSource, OutboxDialect dialect, OutboxTable outbox, CdcOptions options)
      throws SQLException {
    Objects.requireNonNull(dataSource, "dataSource");
    Objects.requireNonNull(dialect, "dialect");
    Objects.requireNonNull(outbox, "outbox");
    Objects.requireNonNull(options, "options");
    List<Check> checks = new ArrayList<>();
    Check url =
        check(
            "CDC URL and TLS (outbox.relay.cdc.url)",
            () -> {
              CdcEngineConfig.sourceUrl(options.jdbcUrl());
              CdcTls.properties(options.jdbcUrl(), options.connectorClass(dialect.name()));
              CdcTls.verifyConnection(options);
              return String.valueOf(SecretMasking.maskedUrl(options.jdbcUrl()));
            });
    checks.add(url);
    if (!url.ok()) {
      return checks;
    }
    Connection cdc;
    try {
      cdc = CdcPreflight.connect(options);
    } catch (IllegalStateException e) {
      checks.add(new Check(connectionName(options), false, String.valueOf(e.getMessage())));
      return checks;
    }
    try (cdc;
        Connection c = dataSource.getConnection()) {
      checks.add(new Check(connectionName(options), true, "connected"));
      OutboxDialect[] source = new OutboxDialect[1];
      Check server =
          check(
              "CDC server and Debezium connector",
              () -> {
                source[0] = CdcPreflight.source(cdc, dialect);
                return source[0].name() + ", " + options.connectorClass(source[0].name());
              });
      checks.add(server);
      if (!server.ok()) {
        return checks;
      }
      checks.addAll(
          ChangeLogSource.of(source[0]).checks(c, cdc, options, outbox, options.username()));
      checks.add(
          check(
              "CDC state table " + options.stateTable(),
              () -> {
                if (options.autoCreate() && !CdcStartUp.stateTablesExist(c, dialect, options)) {
                  return CREATED_AT_START;
                }
                CdcStartUp.verifyStateTable(c, dialect, options);
                return "present";
              }));
    }
    return checks;
  }

  private static String connectionName(CdcOptions options) {
    return "CDC connection as '" + options.username() + "' (outbox.relay.cdc.username/password)";
  }

  /** One step of a check: what was found, or an exception whose message says what to change. */
  interface Step {
    String run() throws SQLException;
  }

  static Check check(String name, Step step) {
    try {
      return new Check(name, true, step.run());
    } catch (SQLException | RuntimeException e) {
      return new Check(name, false, String.valueOf(e.getMessage()));
    }
  }
}
