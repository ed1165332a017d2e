package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.internal.RelaySettings;
import java.util.List;

/**
 * The one way from the API ({@link OutboxRelay#builder()}) to the CDC implementation, which stays
 * package-private. Not API.
 */
public final class CdcRelays {

  private CdcRelays() {}

  /**
   * A CDC relay with sealed settings; it does no I/O until {@link OutboxRelay#start()}.
   *
   * @throws IllegalStateException when Debezium's engine or the connector the URL needs is not on
   *     the class path, checked before any Debezium class is loaded
   */
  public static OutboxRelay create(RelaySettings settings, CdcOptions options) {
    // The binlog connector is picked at start-up from the server the CDC user reaches (a
    // jdbc:mariadb: URL may point at MySQL): here any connector of the URL's driver will do.
    List<String> connectors = ChangeLogSource.connectorsFor(options.jdbcUrl());
    if (!present("io.debezium.engine.DebeziumEngine")
        || connectors.stream().noneMatch(CdcRelays::present)) {
      throw new IllegalStateException(
          "CDC mode needs io.debezium.engine.DebeziumEngine and "
              + String.join(" or ", connectors)
              + " on the class path: add io.debezium:debezium-embedded and the connector of"
              + " your database (debezium-connector-postgres, -mariadb or -mysql)");
    }
    return new CdcRelay(settings, options);
  }

  private static boolean present(String className) {
    try {
      Class.forName(className, false, CdcRelays.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  /**
   * The CDC relay's start-up checks as an operator's list ({@code check} of the CLI), reading only;
   * see {@code CdcChecks}. Reached from {@code RelayInspection} through {@code RelayFactory}.
   *
   * @throws java.sql.SQLException when the relay's data source cannot be reached
   * @since 0.9
   */
  public static java.util.List<dev.outboxkit.relay.RelayInspection.Check> checks(
      javax.sql.DataSource dataSource,
      dev.outboxkit.outbox.spi.OutboxDialect dialect,
      dev.outboxkit.outbox.OutboxTable outbox,
      CdcOptions options)
      throws java.sql.SQLException {
    return CdcChecks.run(dataSource, dialect, outbox, options);
  }

  /**
   * The CDC engine's lease and stored position and the server's replication slots, reading only
   * (see {@code CdcInspection}). Reached from {@code RelayInspection}.
   *
   * @param options the CDC options as the relay uses them, or {@code null} in polling mode (then
   *     only the slots are read)
   * @since 0.9
   */
  public static dev.outboxkit.relay.RelayInspection.CdcState state(
      java.sql.Connection c,
      dev.outboxkit.outbox.spi.OutboxDialect dialect,
      @org.jspecify.annotations.Nullable CdcOptions options)
      throws java.sql.SQLException {
    return CdcInspection.read(c, dialect, options);
  }
}
