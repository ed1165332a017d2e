package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.internal.cdc.CdcPreflightProbe;
import dev.outboxkit.test.MySqlServer;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The CDC relay's start-up checks on a real MySQL 8 server, one refused condition at a time, each
 * set on the running server and put back afterwards (the server is shared with other tests): the
 * message names the setting and the statement that fixes it. The checks read the global values over
 * the CDC user's own connection.
 */
@ServerTest
@Isolated
class MySqlCdcPreflightIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.mysql();

  private String expireSeconds;

  @BeforeEach
  void remember() throws SQLException {
    RelayTables.create(db.dataSource());
    expireSeconds = admin("SELECT @@GLOBAL.binlog_expire_logs_seconds");
  }

  @AfterEach
  void restore() throws SQLException {
    execute("SET GLOBAL binlog_row_image = 'FULL'");
    execute("SET GLOBAL binlog_format = 'ROW'");
    execute("SET GLOBAL gtid_mode = 'OFF'");
    execute("SET GLOBAL binlog_expire_logs_seconds = " + expireSeconds);
    execute("DROP TABLE IF EXISTS mysql.rds_configuration");
    execute("DROP USER IF EXISTS 'cdc_partial'@'%'");
  }

  @Test
  void acceptsTheServersDefaultsAndAUserWithTheShippedGrants() throws SQLException {
    grantPartial("REPLICATION SLAVE, REPLICATION CLIENT, RELOAD ON *.*");
    assertThatCode(() -> preflight("cdc_partial")).doesNotThrowAnyException();
  }

  @Test
  void refusesAMinimalRowImageNamingTheFix() throws SQLException {
    execute("SET GLOBAL binlog_row_image = 'MINIMAL'");
    assertRefused(
        () -> preflight(db.database().username()),
        "binlog_row_image is MINIMAL (global value) but CDC needs FULL",
        "SET PERSIST binlog_row_image = 'FULL'");
  }

  @Test
  void refusesAStatementBinlogFormatNamingTheFix() throws SQLException {
    execute("SET GLOBAL binlog_format = 'STATEMENT'");
    assertRefused(
        () -> preflight(db.database().username()),
        "binlog_format is STATEMENT (global value) but CDC needs ROW",
        "SET PERSIST binlog_format = 'ROW'");
  }

  /**
   * Issue 21: the checks stopped at the first wrong setting, so an operator fixed one, redeployed,
   * and met the next. Every wrong setting is listed in one refusal.
   */
  @Test
  void refusesEveryWrongSettingAtOnceNamingEachFix() throws SQLException {
    execute("SET GLOBAL binlog_format = 'STATEMENT'");
    execute("SET GLOBAL binlog_row_image = 'MINIMAL'");
    execute("SET GLOBAL binlog_expire_logs_seconds = 3600");
    grantPartial("REPLICATION CLIENT ON *.*");
    assertRefused(
        () -> preflight("cdc_partial"),
        "binlog_format is STATEMENT (global value) but CDC needs ROW",
        "SET PERSIST binlog_format = 'ROW'",
        "binlog_row_image is MINIMAL (global value) but CDC needs FULL",
        "SET PERSIST binlog_row_image = 'FULL'",
        "binlog_expire_logs_seconds",
        "REPLICATION SLAVE");
  }

  @Test
  void refusesATransitionalGtidModeNamingTheFix() throws SQLException {
    execute("SET GLOBAL gtid_mode = 'OFF_PERMISSIVE'");
    assertRefused(
        () -> preflight(db.database().username()),
        "gtid_mode is OFF_PERMISSIVE, a transitional mode",
        "SET PERSIST gtid_mode = 'ON'");
  }

  @Test
  void refusesABinlogRetentionShorterThanADayNamingTheFix() throws SQLException {
    execute("SET GLOBAL binlog_expire_logs_seconds = 3600");
    assertRefused(
        () -> preflight(db.database().username()),
        "purges binlogs after 3600 seconds (binlog_expire_logs_seconds)",
        "SET PERSIST binlog_expire_logs_seconds = 604800");
  }

  /**
   * RDS/Aurora keep binlogs as {@code mysql.rds_configuration} says (NULL: purged as soon as
   * possible). The table is created here as RDS has it: the check reads nothing else of RDS.
   */
  @Test
  void onRdsRefusesNoBinlogRetentionHoursNamingTheProcedure() throws SQLException {
    execute(
        "CREATE TABLE mysql.rds_configuration (name VARCHAR(100) PRIMARY KEY, value VARCHAR(100),"
            + " description VARCHAR(300))");
    execute("INSERT INTO mysql.rds_configuration VALUES ('binlog retention hours', NULL, '')");
    assertRefused(
        () -> preflight(db.database().username()),
        "'binlog retention hours' is NULL",
        "CALL mysql.rds_set_configuration('binlog retention hours', 168)");
    execute("UPDATE mysql.rds_configuration SET value = '12'");
    assertRefused(
        () -> preflight(db.database().username()),
        "keeps binlogs for 12 hours",
        "CALL mysql.rds_set_configuration('binlog retention hours', 168)");
    execute("UPDATE mysql.rds_configuration SET value = '168'");
    assertThatCode(() -> preflight(db.database().username())).doesNotThrowAnyException();
  }

  @Test
  void onRdsRefusesACdcUserWithoutLockTables() throws SQLException {
    execute(
        "CREATE TABLE mysql.rds_configuration (name VARCHAR(100) PRIMARY KEY, value VARCHAR(100))");
    execute("INSERT INTO mysql.rds_configuration VALUES ('binlog retention hours', '168')");
    grantPartial("REPLICATION SLAVE, REPLICATION CLIENT, RELOAD ON *.*");
    execute("GRANT SELECT ON mysql.rds_configuration TO 'cdc_partial'@'%'");
    assertRefused(
        () -> preflight("cdc_partial"),
        "lacks LOCK TABLES",
        "GRANT LOCK TABLES ON <database>.* TO 'cdc_partial'");
  }

  /** The CDC user's grants count, read over its own connection, not the relay DataSource's. */
  @Test
  void refusesACdcUserWithoutReplicationGrantsNamingTheGrant() throws SQLException {
    grantPartial("REPLICATION CLIENT ON *.*");
    assertRefused(
        () -> preflight("cdc_partial"),
        "User 'cdc_partial' lacks REPLICATION SLAVE, RELOAD ON *.*",
        "GRANT REPLICATION SLAVE, REPLICATION CLIENT, RELOAD ON *.* TO 'cdc_partial'");
  }

  @Test
  void refusesACdcUserWithoutReloadForTheSnapshotsReadLock() throws SQLException {
    grantPartial("REPLICATION SLAVE, REPLICATION CLIENT ON *.*");
    assertRefused(
        () -> preflight("cdc_partial"),
        "User 'cdc_partial' lacks RELOAD ON *.*",
        "FLUSH TABLES WITH READ LOCK");
  }

  /**
   * The binary log cannot be turned on at run time, so this check runs on a server of its own,
   * started with {@code --skip-log-bin}.
   */
  @Test
  void refusesAServerWithoutBinaryLogNamingTheFix() throws SQLException {
    try (MySqlServer server = MySqlServer.start("--skip-log-bin");
        TestDatabase database = server.createDatabase("nobinlog")) {
      try (Connection c =
          DriverManager.getConnection(
              database.jdbcUrl(), database.username(), database.password())) {
        assertRefused(
            () ->
                CdcPreflightProbe.check(
                    c,
                    OutboxDialect.detect(c),
                    database.jdbcUrl(),
                    database.username(),
                    database.password(),
                    "outboxkit_pub"),
            "The binary log is off (log_bin)",
            "--log-bin",
            "outbox.relay.mode=polling");
      }
    }
  }

  /**
   * Issue 21: the operator CLI's {@code check} in CDC mode ({@link
   * RelayInspection#check(CdcOptions)}) lists the same binlog refusal as one failed line naming the
   * fix, after the connection and the server passed, and creates no state table.
   */
  @Test
  void theOperatorsCheckListsTheBinlogRefusalNamingTheFix() throws SQLException {
    execute("SET GLOBAL binlog_row_image = 'MINIMAL'");
    TestDatabase database = db.database();
    OutboxDialect dialect;
    try (Connection c = db.dataSource().getConnection()) {
      dialect = OutboxDialect.detect(c);
    }
    List<RelayInspection.Check> checks =
        RelayInspection.of(
                db.dataSource(),
                dialect,
                dev.outboxkit.outbox.OutboxTable.DEFAULT,
                16,
                java.time.Clock.systemUTC())
            .check(
                CdcOptions.builder(database.jdbcUrl(), database.username(), database.password())
                    .build());
    assertThat(checks)
        .filteredOn(c -> c.name().startsWith("CDC connection as"))
        .singleElement()
        .matches(RelayInspection.Check::ok);
    assertThat(checks)
        .filteredOn(c -> c.name().equals("CDC server and Debezium connector"))
        .singleElement()
        .satisfies(c -> assertThat(c.ok()).as(c.detail()).isTrue());
    assertThat(checks)
        .filteredOn(c -> c.name().startsWith("change log settings and grants"))
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.ok()).isFalse();
              assertThat(c.detail())
                  .contains("binlog_row_image is MINIMAL (global value) but CDC needs FULL")
                  .contains("SET PERSIST binlog_row_image = 'FULL'");
            });
    assertThat(checks)
        .filteredOn(c -> c.name().startsWith("CDC state table"))
        .singleElement()
        .satisfies(c -> assertThat(c.ok()).as("state table absent, no auto-create").isFalse());
  }

  /**
   * A user that reads the outbox's database (the snapshot needs SELECT) and holds {@code grant}.
   */
  private void grantPartial(String grant) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      BinlogUsers.createReadingUser(s, db.database().jdbcUrl(), "cdc_partial", "pw", grant);
    }
  }

  /** Runs the checks over a new connection as {@code user}, as the relay does at start-up. */
  private void preflight(String user) throws SQLException {
    String password = user.equals("cdc_partial") ? "pw" : db.database().password();
    try (Connection c = DriverManager.getConnection(db.database().jdbcUrl(), user, password)) {
      CdcPreflightProbe.check(
          c, OutboxDialect.detect(c), db.database().jdbcUrl(), user, password, "outboxkit_pub");
    }
  }

  private static void assertRefused(ThrowingCallable check, String... fragments) {
    var refusal = assertThatThrownBy(check).isInstanceOf(IllegalStateException.class);
    for (String fragment : fragments) {
      refusal.hasMessageContaining(fragment);
    }
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static String admin(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }
}
