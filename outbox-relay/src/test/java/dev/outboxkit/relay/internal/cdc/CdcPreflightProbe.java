package dev.outboxkit.relay.internal.cdc;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import java.sql.Connection;
import java.sql.SQLException;

/** Lets tests outside this package run the CDC relay's start-up checks on a connection. */
public final class CdcPreflightProbe {

  private CdcPreflightProbe() {}

  /**
   * Runs the checks the CDC relay runs before its engine starts, as {@code user}, with the
   * publication created by an administrator (no auto-create). On MySQL/MariaDB {@code connection}
   * must be the CDC user's own (its grants and the server's settings are read over it).
   */
  public static void check(
      Connection connection,
      OutboxDialect dialect,
      String jdbcUrl,
      String user,
      String password,
      String publication)
      throws SQLException {
    CdcOptions options =
        CdcOptions.builder(jdbcUrl, user, password)
            .publication(publication)
            .autoCreate(false)
            .build();
    CdcPreflight.check(connection, connection, dialect, options, OutboxTable.DEFAULT, user);
  }

  /** As {@link #check}, creating a missing publication over {@code connection} (auto-create). */
  public static void checkCreatingPublication(
      Connection connection,
      OutboxDialect dialect,
      String jdbcUrl,
      String user,
      String password,
      String publication)
      throws SQLException {
    CdcOptions options =
        CdcOptions.builder(jdbcUrl, user, password)
            .publication(publication)
            .autoCreate(true)
            .build();
    CdcPreflight.check(connection, connection, dialect, options, OutboxTable.DEFAULT, user);
  }
}
