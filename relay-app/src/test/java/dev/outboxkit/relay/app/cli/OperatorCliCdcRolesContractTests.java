package dev.outboxkit.relay.app.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.RelaySchema;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.test.ShippedScripts;
import dev.outboxkit.test.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 20, finding 1: the operator CLI run in CDC mode exactly as docs/roles.md deploys the CDC
 * relay, the shipped role scripts applied: its DataSource logs in as a user holding only {@code
 * outboxkit_cdc_relay} (the relay's DML user) and Debezium's connection ({@code
 * outbox.relay.cdc.username}) as a user holding only {@code outboxkit_cdc} (the replication user).
 * Every command the CDC runbooks use works under that pair; what the roles may not do is refused
 * with a clear error and changes nothing. One operator session per database, in order.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class OperatorCliCdcRolesContractTests {

  static final String PASSWORD = "Rk7cliRolePw";

  private final List<UUID> parked = new ArrayList<>();
  private OutboxDialect dialect;

  /** A database of this class's own on the shared server. */
  abstract TestDatabase db();

  /** A login user holding one role (PostgreSQL: the replication user also gets REPLICATION). */
  abstract void createLoginUser(Statement admin, String user, String role) throws SQLException;

  abstract void dropLoginUser(Statement admin, String user) throws SQLException;

  /** What the administrator creates for CDC besides the roles (the publication on PostgreSQL). */
  void createChangeLogObjects(Statement admin) throws SQLException {}

  /** The login user of a role; user names are server-wide, so they carry the class's prefix. */
  String user(String role) {
    return "okcli_" + role;
  }

  /** The URL without the administrator's credentials, so the CLI logs in as the role's user. */
  String roleUrl() {
    return db().jdbcUrl().replaceAll("([?&])(user|password)=[^&]*&?", "$1").replaceAll("[?&]$", "");
  }

  @BeforeAll
  void createSchemaRolesAndUsers() throws Exception {
    String kind = db().kind().key();
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement()) {
      dialect = OutboxDialect.detect(c);
      OutboxSchema.create(c, dialect, OutboxTable.DEFAULT);
      RelaySchema.create(
          c,
          dialect,
          OutboxTable.DEFAULT,
          OutboxTable.of(RelayDefaults.LEASE_TABLE),
          OutboxTable.of(RelayDefaults.MEMBER_TABLE));
      CdcSchema.create(c, dialect, OutboxTable.of(RelayDefaults.CDC_STATE_TABLE));
      for (String script :
          List.of(
              "dev/outboxkit/roles/" + kind + "/outboxkit-roles-outbox.sql",
              "dev/outboxkit/roles/" + kind + "/outboxkit-roles-relay.sql",
              "dev/outboxkit/roles/" + kind + "/outboxkit-roles-cdc.sql")) {
        for (String sql : ShippedScripts.statements(script)) {
          s.execute(sql);
        }
      }
      createChangeLogObjects(s);
      createLoginUser(s, user("cdc_relay"), "outboxkit_cdc_relay");
      createLoginUser(s, user("cdc"), "outboxkit_cdc");
    }
    JdbcTransactions tx = JdbcTransactions.of(db().dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    for (int i = 0; i < 3; i++) {
      String aggregate = "p-" + i;
      UUID id =
          tx.inTransaction(
                  c -> outbox.append(OutboxMessage.of("payment", aggregate, "Refunded", "{}")))
              .id();
      parked.add(id);
      park(id, "UnknownTopicOrPartitionException: This server does not host this topic-partition");
    }
  }

  @AfterAll
  void dropUsersAndDatabase() throws SQLException {
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement()) {
      dropLoginUser(s, user("cdc_relay"));
      dropLoginUser(s, user("cdc"));
    } finally {
      db().close();
    }
  }

  /** What one CLI run printed and returned. */
  record Run(int code, String out, String err) {
    String all() {
      return out + err;
    }
  }

  /** The CLI with its DataSource logged in as {@code dataSourceUser}, in CDC mode. */
  Run cliAs(String dataSourceUser, String... command) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    List<String> args = new ArrayList<>(List.of(command));
    args.add("--spring.datasource.url=" + roleUrl());
    args.add("--spring.datasource.username=" + dataSourceUser);
    args.add("--spring.datasource.password=" + PASSWORD);
    args.add("--outbox.relay.mode=cdc");
    args.add("--outbox.relay.cdc.name=okcli_roles");
    args.add("--outbox.relay.cdc.username=" + user("cdc"));
    args.add("--outbox.relay.cdc.password=" + PASSWORD);
    int code =
        OperatorCli.run(
            args.toArray(String[]::new),
            new PrintWriter(out, true),
            new PrintWriter(err, true),
            Map.of("HOSTNAME", "ops-box"));
    Run run = new Run(code, out.toString(), err.toString());
    assertThat(run.all()).as("secrets in the output").doesNotContain(PASSWORD);
    return run;
  }

  Run cli(String... command) {
    return cliAs(user("cdc_relay"), command);
  }

  @Test
  @Order(1)
  void checkPassesUnderTheDmlAndTheReplicationUser() {
    Run run = cli("check");
    assertThat(run.code()).as(run.all()).isEqualTo(ExitCodes.OK);
    assertThat(run.out())
        .contains("OK    outbox table outbox_event")
        .contains("OK    CDC connection as '" + user("cdc") + "'")
        // PostgreSQL: the REPLICATION attribute; MySQL and MariaDB: the binlog grants.
        .containsPattern(
            "OK    (replication privilege|change log settings and grants) of '" + user("cdc") + "'")
        .containsPattern(
            "OK    audit append grant on \\S*outbox_audit \\(role outboxkit_cdc_relay\\): granted")
        .containsPattern("OK    CDC state table \\S*outbox_cdc_state")
        .as("the polling relay's tables, which the CDC relay neither uses nor may read")
        .doesNotContain("relay tables");
  }

  @Test
  @Order(2)
  void statusShowsTheBacklogAndTheParkedEvents() {
    Run run = cli("status");
    assertThat(run.code()).as(run.all()).isEqualTo(ExitCodes.OK);
    assertThat(run.out())
        .contains("Pending events   0")
        .contains("Parked events    3 (oldest ")
        .contains("Mode             cdc");
    Run json = cli("status", "--json");
    assertThat(json.code()).as(json.all()).isEqualTo(ExitCodes.OK);
    assertThat(json.out())
        .containsPattern("\"parked\" ?: 3")
        .containsPattern("\"mode\" ?: \"cdc\"");
  }

  @Test
  @Order(3)
  void leasesAreThePollingRelaysAndSaySoInCdcMode() {
    Run run = cli("leases");
    assertThat(run.code()).as(run.all()).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err())
        .contains("partition leases belong to the polling relay")
        .contains("outbox.relay.mode=cdc");
  }

  @Test
  @Order(4)
  void parkedEventsAreGroupedListedReplayedAndPurgedWithAnAuditRowEach() throws Exception {
    Run groups = cli("parked", "groups");
    assertThat(groups.code()).as(groups.all()).isEqualTo(ExitCodes.OK);
    assertThat(groups.out()).contains("UnknownTopicOrPartitionException");
    Run list = cli("parked", "list", "--aggregate-type", "payment");
    assertThat(list.code()).as(list.all()).isEqualTo(ExitCodes.OK);
    assertThat(list.out()).contains(parked.get(0).toString(), parked.get(2).toString());

    Run replay = cli("parked", "replay", parked.get(0).toString(), "--yes", "--operator", "alice");
    assertThat(replay.code()).as(replay.all()).isEqualTo(ExitCodes.OK);
    assertThat(replay.out()).contains("Replayed 1 of 1");
    assertThat(status(parked.get(0)))
        .as("a fresh pending copy (CDC publishes the insert)")
        .isEqualTo("PENDING");

    Run purge = cli("parked", "purge", parked.get(1).toString(), "--yes", "--operator", "alice");
    assertThat(purge.code()).as(purge.all()).isEqualTo(ExitCodes.OK);
    assertThat(status(parked.get(1))).isNull();
    assertThat(auditOk("alice"))
        .anySatisfy(t -> assertThat(t).contains(parked.get(0).toString()))
        .anySatisfy(t -> assertThat(t).contains(parked.get(1).toString()));
  }

  @Test
  @Order(5)
  void theReplicationUserMayNotChangeOutboxRowsAndIsToldSo() throws Exception {
    String left = parked.get(2).toString();
    Run purge = cliAs(user("cdc"), "parked", "purge", left, "--yes");
    assertThat(purge.code()).as(purge.all()).isEqualTo(ExitCodes.DATABASE);
    assertThat(purge.err()).startsWith("Error: ").containsIgnoringCase("denied");
    Run replay = cliAs(user("cdc"), "parked", "replay", left, "--yes");
    assertThat(replay.code()).as(replay.all()).isEqualTo(ExitCodes.DATABASE);
    assertThat(replay.err()).startsWith("Error: ").containsIgnoringCase("denied");
    assertThat(status(parked.get(2))).as("nothing changed").isEqualTo("DEAD");

    Run check = cliAs(user("cdc"), "check");
    assertThat(check.code()).as(check.all()).isEqualTo(ExitCodes.CHECK_FAILED);
    // PostgreSQL names the role script to run; MySQL and MariaDB refuse the user even a look at
    // the audit table, and the append check is then not run.
    assertThat(check.out())
        .containsPattern(
            "FAIL  audit append grant on \\S*outbox_audit \\(role outboxkit_cdc_relay\\)");
  }

  private String status(UUID id) throws SQLException {
    try (Connection c = db().dataSource().getConnection();
        PreparedStatement s = c.prepareStatement("SELECT status FROM outbox_event WHERE id = ?")) {
      dialect.setUuid(s, 1, id);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private List<String> auditOk(String principal) throws SQLException {
    List<String> targets = new ArrayList<>();
    try (Connection c = db().dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "SELECT operation, target FROM outbox_audit WHERE outcome = 'OK' AND principal = ?"
                    + " ORDER BY id")) {
      s.setString(1, principal);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          targets.add(rs.getString(1) + " " + rs.getString(2));
        }
      }
    }
    return targets;
  }

  private void park(UUID id, String error) throws SQLException {
    try (Connection c = db().dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "UPDATE outbox_event SET status = 'DEAD', attempts = 10, last_error = ?"
                    + " WHERE id = ?")) {
      s.setString(1, error);
      dialect.setUuid(s, 2, id);
      assertThat(s.executeUpdate()).isEqualTo(1);
    }
  }
}
