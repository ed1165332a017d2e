package dev.outboxkit.relay.app.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.RelaySchema;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.ShippedScripts;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The operator CLI run in process against a real PostgreSQL (a database of its own on the shared
 * server), configured as the relay is ({@code --spring.datasource.*}): output, exit code, database
 * state and audit rows of each command. The methods form one operator session, in order.
 */
@ServerTest
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OperatorCliIntegrationTests {

  static final String SECRET = "Qx9cliSecret";
  static final TestDatabase db = TestServers.postgres().createDatabase("operator_cli");
  static final List<UUID> acl = new ArrayList<>();
  static UUID tooLarge;
  static UUID laterPending;

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  /** What one CLI run printed and returned. */
  record Run(int code, String out, String err) {
    String all() {
      return out + err;
    }
  }

  static Run cli(String... command) {
    return cliAs(db.username(), command);
  }

  static Run cliAs(String user, String... command) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    List<String> args = new ArrayList<>(List.of(command));
    // The URL names the administrator (user=...), which the driver prefers to the username.
    String url =
        user.equals(db.username())
            ? db.jdbcUrl()
            : db.jdbcUrl().replaceAll("([?&])user=[^&]*&?", "$1").replaceAll("[?&]$", "");
    args.add("--spring.datasource.url=" + url);
    args.add("--spring.datasource.username=" + user);
    // Embedded PostgreSQL trusts local connections: the password is carried, never checked.
    args.add("--spring.datasource.password=" + SECRET);
    int code =
        OperatorCli.run(
            args.toArray(String[]::new),
            new PrintWriter(out, true),
            new PrintWriter(err, true),
            Map.of("HOSTNAME", "ops-box"));
    Run run = new Run(code, out.toString(), err.toString());
    assertThat(run.all()).as("secrets in the output").doesNotContain(SECRET);
    return run;
  }

  @Test
  @Order(1)
  void checkFailsNamingWhatIsMissingBeforeTheSchemaIsApplied() {
    Run run = cli("check");
    assertThat(run.code()).as(run.all()).isEqualTo(ExitCodes.CHECK_FAILED);
    assertThat(run.out()).contains("FAIL  outbox table outbox_event");
  }

  @Test
  @Order(2)
  void checkPassesOnceTheSchemaIsThereAndSaysSoInJson() throws Exception {
    try (Connection c = db.dataSource().getConnection()) {
      OutboxDialect dialect = OutboxDialect.detect(c);
      OutboxSchema.create(c, dialect, OutboxTable.DEFAULT);
      RelaySchema.create(
          c,
          dialect,
          OutboxTable.DEFAULT,
          OutboxTable.of(RelayDefaults.LEASE_TABLE),
          OutboxTable.of(RelayDefaults.MEMBER_TABLE));
    }
    Run run = cli("check", "--json");
    assertThat(run.code()).as(run.all()).isEqualTo(ExitCodes.OK);
    assertThat(run.out()).startsWith("{").containsPattern(json("ok", "true"));
  }

  @Test
  @Order(3)
  void statusAndLeasesShowTheBacklogTheParkedEventsAndWhoOwnsWhat() throws Exception {
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    OutboxDialect dialect;
    try (Connection c = db.dataSource().getConnection()) {
      dialect = OutboxDialect.detect(c);
    }
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    for (int i = 0; i < 5; i++) {
      OutboxEvent e =
          tx.inTransaction(
              c -> outbox.append(OutboxMessage.of("order", "o-1", "OrderPlaced", "{}")));
      acl.add(e.id());
      park(
          e.id(),
          "TopicAuthorizationException: Not authorized to access topics: [order] (offset "
              + (100 + 7 * i)
              + ")");
    }
    tooLarge =
        tx.inTransaction(c -> outbox.append(OutboxMessage.of("payment", "p-1", "Paid", "{}"))).id();
    park(tooLarge, "RecordTooLargeException: The message is 2000001 bytes when serialized");
    laterPending =
        tx.inTransaction(c -> outbox.append(OutboxMessage.of("order", "o-1", "OrderShipped", "{}")))
            .id();
    execute(
        "INSERT INTO outbox_relay_member (member_id, heartbeat_at, expires_at, session_lock)"
            + " VALUES ('relay-a', now(), now() + interval '30 seconds', true)");
    execute(
        "INSERT INTO outbox_relay_lease (partition_no, owner_id, epoch, expires_at)"
            + " SELECT p, CASE WHEN p < 12 THEN 'relay-a' END, 3,"
            + " CASE WHEN p < 12 THEN now() + interval '30 seconds' END"
            + " FROM generate_series(0, 15) p");

    Run status = cli("status");
    assertThat(status.code()).as(status.all()).isZero();
    assertThat(status.out())
        .contains("Pending events   1 (oldest ")
        .contains("Parked events    6 (oldest ")
        .contains("Partitions       16, 4 unowned or expired")
        .containsPattern("relay-a +12 +\\d+s ago +yes");
    Run json = cli("status", "--json");
    assertThat(json.out())
        .containsPattern(json("pending", "1"))
        .containsPattern(json("parked", "6"))
        .containsPattern(json("unownedPartitions", "4"));

    Run leases = cli("leases");
    assertThat(leases.code()).isZero();
    assertThat(leases.out()).containsPattern("(?m)^0 +relay-a +3 +\\d+s +held$");
    assertThat(leases.out()).containsPattern("(?m)^15 +- +3 +- +free$");
  }

  @Test
  @Order(4)
  void groupsShowOneGroupPerFailureAndADryRunChangesNothing() throws Exception {
    Run groups = cli("parked", "groups");
    assertThat(groups.code()).as(groups.all()).isZero();
    String group = groupOf(groups.out(), "TopicAuthorizationException");
    assertThat(groups.out())
        .containsPattern(
            group
                + " +5 +.*order +OrderPlaced +TopicAuthorizationException: Not"
                + " authorized to access topics: \\[order\\] \\(offset <n>\\)")
        .contains(group + " e.g. " + acl.get(0) + " " + acl.get(1) + " " + acl.get(2))
        .contains("RecordTooLargeException: The message is <n> bytes when serialized");

    Run dry = cli("parked", "replay", "--group", group, "--batch-size", "2", "--dry-run");
    assertThat(dry.code()).as(dry.all()).isZero();
    assertThat(dry.out())
        .contains(
            "Dry run: would replay 5 parked events (group="
                + group
                + ") in 3 batches of at"
                + " most 2; nothing changed.");
    assertThat(count("status = 'DEAD'")).isEqualTo(6);

    Run unconfirmed = cli("parked", "replay", "--group", group);
    assertThat(unconfirmed.code()).isEqualTo(ExitCodes.REFUSED);
    assertThat(unconfirmed.err()).contains("confirmation required: add --yes");
    assertThat(count("status = 'DEAD'")).isEqualTo(6);
    assertThat(lastAudit())
        .isEqualTo(
            "REFUSED REPLAY cli:"
                + System.getProperty("user.name")
                + " cli@ops-box group="
                + group);

    Run nothing = cli("parked", "purge", "--yes");
    assertThat(nothing.code()).isEqualTo(ExitCodes.REFUSED);
    assertThat(nothing.err()).contains("nothing selected");
  }

  @Test
  @Order(5)
  void aGroupIsReplayedInBatchesBehindTheLaterEventOfItsKeyWithOneAuditRowPerBatch()
      throws Exception {
    String group = groupOf(cli("parked", "groups").out(), "TopicAuthorizationException");
    Run run =
        cli(
            "parked",
            "replay",
            "--group",
            group,
            "--batch-size",
            "2",
            "--yes",
            "--operator",
            "alice");
    assertThat(run.code()).as(run.all()).isZero();
    assertThat(run.out())
        .contains("batch 1: 2 matched, 2 replayed so far")
        .contains("batch 3: 5 matched, 5 replayed so far")
        .contains("Replayed 5 of 5 matching parked events (group=" + group + ") in 3 batches.");
    assertThat(count("status = 'PENDING'")).isEqualTo(6);
    assertThat(count("status = 'DEAD'")).isEqualTo(1);
    // Each replayed event now comes after the later event of its key.
    assertThat(
            count(
                "status = 'PENDING' AND seq < (SELECT seq FROM outbox_event WHERE id = '"
                    + laterPending
                    + "')"))
        .isZero();
    List<String> audit = audit("operation = 'REPLAY' AND outcome = 'OK'");
    assertThat(audit)
        .containsExactly(
            "alice cli@ops-box group=" + group + ": ids=" + acl.get(0) + "," + acl.get(1),
            "alice cli@ops-box group=" + group + ": ids=" + acl.get(2) + "," + acl.get(3),
            "alice cli@ops-box group=" + group + ": ids=" + acl.get(4));
  }

  @Test
  @Order(6)
  void aFilterIsPurgedAndListedInJson() throws Exception {
    Run list = cli("parked", "list", "--aggregate-type", "payment", "--json");
    assertThat(list.code()).isZero();
    assertThat(list.out())
        .containsPattern(json("id", "\"" + tooLarge + "\""))
        .containsPattern(json("eventType", "\"Paid\""));
    Run purge =
        cli(
            "parked",
            "purge",
            "--error-like",
            "recordtoolarge%",
            "--since",
            "1h",
            "--yes",
            "--json");
    assertThat(purge.code()).as(purge.all()).isZero();
    assertThat(purge.out())
        .containsPattern(json("changed", "1"))
        .containsPattern(json("batches", "1"));
    assertThat(purge.err()).contains("batch 1: 1 matched, 1 purged so far");
    assertThat(count("status = 'DEAD'")).isZero();
    assertThat(audit("operation = 'PURGE' AND outcome = 'OK'"))
        .containsExactly(
            "cli:"
                + System.getProperty("user.name")
                + " cli@ops-box error-like=recordtoolarge% since="
                + purgeSince(purge)
                + ": ids="
                + tooLarge);
  }

  @Test
  @Order(7)
  void aWrongCommandLineIsAUsageErrorWithoutTouchingTheDatabase() {
    Run run = cli("parked", "replay", "--batch-size", "0", "--all", "--yes");
    assertThat(run.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(run.err()).contains("--batch-size must be 1 to 10000 but was 0");
    Run unknown = cli("parked", "explode");
    assertThat(unknown.code()).isEqualTo(ExitCodes.USAGE);
    Run help = cli("--help");
    assertThat(help.code()).isZero();
    assertThat(help.out())
        .contains("status", "leases", "check", "pending", "cdc", "parked", "Exit codes:");
  }

  /**
   * Issue 21: in CDC mode {@code check} checks what the CDC relay checks at start, and creates
   * nothing: the publication and the state table that {@code auto-create} would create are reported
   * as such, a missing publication without it fails naming the property and the statement.
   */
  @Test
  @Order(8)
  void checkInCdcModeChecksTheChangeLogAndCreatesNothing() throws Exception {
    String[] cdc = {
      "--outbox.relay.mode=cdc", "--outbox.relay.cdc.name=operator_cli_check",
    };
    Run missing = cli(with(cdc, "check"));
    assertThat(missing.code()).as(missing.all()).isEqualTo(ExitCodes.CHECK_FAILED);
    assertThat(missing.out())
        .contains("OK    outbox table outbox_event")
        .contains("OK    CDC connection as '" + db.username() + "'")
        .contains("OK    CDC server and Debezium connector: postgresql")
        .contains("OK    wal_level: logical")
        .contains("OK    replication privilege of '" + db.username() + "'")
        .containsPattern(
            "OK    audit append grant on \\S*outbox_audit \\(role outboxkit_cdc_relay\\)")
        .contains(
            "FAIL  publication 'outboxkit_pub' (outbox.relay.cdc.publication): PostgreSQL"
                + " publication 'outboxkit_pub' does not exist. Run CREATE PUBLICATION"
                + " outboxkit_pub FOR TABLE public.outbox_event WITH (publish = 'insert')")
        .contains("outbox.relay.cdc.auto-create=true")
        .contains(
            "OK    replication slot 'operator_cli_check' (outbox.relay.cdc.name): absent; the"
                + " engine creates it at its first start")
        .containsPattern(
            "FAIL  CDC state table \\S*outbox_cdc_state: The CDC table \\S*outbox_cdc_state is"
                + " missing");

    Run autoCreate = cli(with(cdc, "check", "--outbox.relay.cdc.auto-create=true"));
    assertThat(autoCreate.code()).as(autoCreate.all()).isEqualTo(ExitCodes.OK);
    assertThat(autoCreate.out())
        .contains(
            "OK    publication 'outboxkit_pub' (outbox.relay.cdc.publication): absent; the relay"
                + " creates it at start (outbox.relay.cdc.auto-create=true)")
        .containsPattern(
            "OK    CDC state table \\S*outbox_cdc_state: absent; the relay creates it");
    assertThat(single("SELECT COUNT(*) FROM pg_publication")).as("publications created").isZero();
    assertThat(single("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'outbox_cdc_state'"))
        .as("state tables created")
        .isZero();

    execute("CREATE PUBLICATION outboxkit_pub FOR TABLE public.outbox_relay_lease");
    Run wrongTable = cli(with(cdc, "check", "--outbox.relay.cdc.auto-create=true", "--json"));
    assertThat(wrongTable.code()).as(wrongTable.all()).isEqualTo(ExitCodes.CHECK_FAILED);
    assertThat(wrongTable.out())
        .contains(
            "does not include public.outbox_event. Run ALTER PUBLICATION outboxkit_pub ADD"
                + " TABLE public.outbox_event.");
    execute("ALTER PUBLICATION outboxkit_pub ADD TABLE public.outbox_event");
    Run present = cli(with(cdc, "check", "--outbox.relay.cdc.auto-create=true"));
    assertThat(present.code()).as(present.all()).isEqualTo(ExitCodes.OK);
    assertThat(present.out())
        .contains("OK    publication 'outboxkit_pub' (outbox.relay.cdc.publication): includes");
  }

  /**
   * Issue 20: {@code check} runs the relay's audit write probe, so an operator sees a missing audit
   * grant before starting the relay (which would refuse to start), not at the first replay. Run as
   * a login user holding only the shipped {@code outboxkit_relay} role.
   */
  @Test
  @Order(9)
  void checkUnderTheShippedRelayRoleProbesTheAuditGrant() throws Exception {
    String user = "cli_check_relay_" + ProcessHandle.current().pid();
    String relayScript = "dev/outboxkit/roles/postgresql/outboxkit-roles-relay.sql";
    for (String script :
        List.of("dev/outboxkit/roles/postgresql/outboxkit-roles-outbox.sql", relayScript)) {
      for (String sql : ShippedScripts.statements(script)) {
        execute(sql);
      }
    }
    execute("DROP ROLE IF EXISTS " + user);
    execute("CREATE ROLE " + user + " LOGIN IN ROLE outboxkit_relay");
    long auditRows = single("SELECT COUNT(*) FROM outbox_audit");
    try {
      Run granted = cliAs(user, "check");
      assertThat(granted.code()).as(granted.all()).isEqualTo(ExitCodes.OK);
      assertThat(granted.out())
          .containsPattern(
              "OK    audit append grant on \\S*outbox_audit \\(role outboxkit_relay\\): granted");

      execute("REVOKE INSERT ON outbox_audit FROM outboxkit_relay");
      Run refused = cliAs(user, "check");
      assertThat(refused.code()).as(refused.all()).isEqualTo(ExitCodes.CHECK_FAILED);
      assertThat(refused.out())
          .containsPattern(
              "FAIL  audit append grant on \\S*outbox_audit \\(role outboxkit_relay\\)")
          .contains("Grant SELECT, INSERT ON")
          .contains("outboxkit-roles-relay.sql")
          .contains("OK    outbox table outbox_event");
      assertThat(single("SELECT COUNT(*) FROM outbox_audit"))
          .as("the probe writes nothing")
          .isEqualTo(auditRows);
    } finally {
      for (String sql : ShippedScripts.statements(relayScript)) {
        execute(sql);
      }
      execute("DROP OWNED BY " + user);
      execute("DROP ROLE IF EXISTS " + user);
    }
    Run mended = cliAs(db.username(), "check");
    assertThat(mended.code()).as(mended.all()).isEqualTo(ExitCodes.OK);
  }

  /**
   * Issue 21: {@code pending} and {@code pending list} answer the runbooks' "which partitions wait,
   * and why" without SQL: per partition counts, failures and attempts; one by one oldest first,
   * filtered and bounded, never the payload.
   */
  @Test
  @Order(10)
  void pendingShowsEachPartitionAndListsTheOldestEventsFilteredAndBounded() throws Exception {
    execute("DELETE FROM outbox_event WHERE status = 'PENDING'");
    UUID placed =
        pending("order", "o-1", "OrderPlaced", 3, 2, "TimeoutException: Expiring 1 record");
    UUID second = pending("order", "o-2", "OrderPlaced", 3, 0, null);
    UUID paid = pending("payment", "p-1", "Paid", 7, 0, null);
    UUID shipped = pending("order", "o-1", "OrderShipped", 3, 0, null);
    UUID refused = pending("payment", "p-2", "Paid", 7, 1, "NotLeaderOrFollowerException");

    Run summary = cli("pending");
    assertThat(summary.code()).as(summary.all()).isZero();
    assertThat(summary.out())
        .contains("Pending events   5 in 2 partitions")
        .containsPattern("(?m)^PARTITION +PENDING +FAILING +OLDEST +MAX ATTEMPTS +NEXT ATTEMPT$")
        .containsPattern("(?m)^3 +3 +1 +\\d+s +2 +\\d{4}-\\S+Z$")
        .containsPattern("(?m)^7 +2 +1 +\\d+s +1 +\\d{4}-\\S+Z$");
    assertThat(cli("pending", "--output", "json").out())
        .startsWith("{")
        .containsPattern(json("pending", "5"))
        .containsPattern(json("failing", "1"));

    Run first = cli("pending", "list", "--limit", "2");
    assertThat(first.code()).as(first.all()).isZero();
    assertThat(first.out())
        .containsPattern(
            "(?m)^\\d+ +"
                + placed
                + " +3 +order +o-1 +OrderPlaced +\\S+ +2 +\\S+ +"
                + "TimeoutException: Expiring 1 record$")
        .containsPattern("(?m)^\\d+ +" + second + " +3 +order +o-2 +OrderPlaced +\\S+ +0 +- +-$")
        .contains("(first 2 shown; --limit shows more)")
        .doesNotContain(paid.toString())
        .doesNotContain("card-4242");
    assertThat(first.out().indexOf(placed.toString()))
        .as("oldest first")
        .isLessThan(first.out().indexOf(second.toString()));

    Run partition = cli("pending", "list", "--partition", "7");
    assertThat(ids(partition.out())).containsExactly(paid, refused);
    assertThat(partition.out()).doesNotContain("first 20 shown");
    assertThat(ids(cli("pending", "list", "--aggregate-type", "payment", "--failing").out()))
        .containsExactly(refused);
    Run type = cli("pending", "list", "--type", "OrderShipped", "--json");
    assertThat(type.out())
        .startsWith("{")
        .containsPattern(json("id", "\"" + shipped + "\""))
        .containsPattern(json("partition", "3"))
        .doesNotContain(placed.toString());

    Run zero = cli("pending", "list", "--limit", "0");
    assertThat(zero.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(zero.err()).contains("--limit must be 1 to 1000 but was 0");
    Run word = cli("pending", "list", "--partition", "seven");
    assertThat(word.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(word.err())
        .contains("Invalid value for option '--partition': 'seven' is not an int");
    Run format = cli("pending", "--output", "xml");
    assertThat(format.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(format.err()).contains("Invalid value for option '--output'");
  }

  /**
   * Issue 21: {@code cdc} shows the CDC engine's lease and stored position and every replication
   * slot with the WAL it retains (the runbook's reads of outbox_cdc_state and
   * pg_replication_slots); {@code status} sums it up in CDC mode.
   */
  @Test
  @Order(11)
  void cdcShowsTheEngineLeaseItsPositionAndTheReplicationSlots() throws Exception {
    String slot = "operator_cli_cdc_" + ProcessHandle.current().pid();
    String[] cdc = {"--outbox.relay.mode=cdc", "--outbox.relay.cdc.name=" + slot};
    Run none = cli(with(cdc, "cdc"));
    assertThat(none.code()).as(none.all()).isZero();
    assertThat(none.out())
        .containsPattern("CDC engine +CDC state table \\S*outbox_cdc_state absent");

    try (Connection c = db.dataSource().getConnection()) {
      dev.outboxkit.relay.cdc.CdcSchema.create(
          c, OutboxDialect.detect(c), OutboxTable.of(RelayDefaults.CDC_STATE_TABLE));
    }
    String key = "[\"engine\",{\"server\":\"" + slot + "\"}]";
    String value = "{\"lsn\":24023128,\"txId\":741}";
    java.util.Base64.Encoder b64 = java.util.Base64.getEncoder();
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "INSERT INTO outbox_cdc_state (name, owner_id, epoch, expires_at, offsets,"
                    + " updated_at) VALUES (?, 'relay-a', 4, now() + interval '30 seconds', ?,"
                    + " now())")) {
      s.setString(1, slot);
      s.setString(
          2,
          b64.encodeToString(key.getBytes(java.nio.charset.StandardCharsets.UTF_8))
              + " "
              + b64.encodeToString(value.getBytes(java.nio.charset.StandardCharsets.UTF_8))
              + "\n");
      s.executeUpdate();
    }
    execute("SELECT pg_create_logical_replication_slot('" + slot + "', 'pgoutput')");
    try {
      Run run = cli(with(cdc, "cdc"));
      assertThat(run.code()).as(run.all()).isZero();
      assertThat(run.out())
          .contains("CDC engine       " + slot)
          .containsPattern("Owner +relay-a \\(epoch 4, expires in \\d+s\\)")
          .containsPattern("Offsets stored +\\d+s ago")
          .contains("Position         {\"lsn\":24023128,\"txId\":741}")
          .containsPattern(
              "(?m)^SLOT +PLUGIN +DATABASE +ACTIVE +PID +RESTART LSN +CONFIRMED LSN +WAL STATUS"
                  + " +RETAINED WAL$")
          .containsPattern(
              "(?m)^"
                  + slot
                  + " +pgoutput +"
                  + db.name()
                  + " +no +- +[0-9A-F]+/[0-9A-F]+ +[0-9A-F]+/[0-9A-F]+ +reserved +\\d+ (B|kB|MB)$");
      Run json = cli(with(cdc, "cdc", "--json"));
      assertThat(json.out())
          .containsPattern(json("owner", "\"relay-a\""))
          .containsPattern(json("epoch", "4"))
          .containsPattern(json("name", "\"" + slot + "\""))
          .containsPattern("\"retainedBytes\" ?: \\d+");

      Run status = cli(with(cdc, "status"));
      assertThat(status.code()).as(status.all()).isZero();
      assertThat(status.out())
          .containsPattern(
              "CDC engine +"
                  + slot
                  + ": owner relay-a \\(epoch 4\\), slot inactive, retains \\d+ (B|kB|MB) of WAL");

      Run polling = cli("cdc");
      assertThat(polling.code()).isZero();
      assertThat(polling.out())
          .contains("CDC engine       outbox.relay.mode is polling: no CDC engine configured")
          .containsPattern("(?m)^" + slot + " +pgoutput ");
    } finally {
      execute("SELECT pg_drop_replication_slot('" + slot + "')");
    }
  }

  /** Appends an event with a payload no command may print, then sets its partition and failures. */
  private static UUID pending(
      String aggregateType,
      String aggregateId,
      String type,
      int partition,
      int attempts,
      String error)
      throws SQLException {
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    OutboxDialect dialect;
    try (Connection c = db.dataSource().getConnection()) {
      dialect = OutboxDialect.detect(c);
    }
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    UUID id =
        tx.inTransaction(
                c ->
                    outbox.append(
                        OutboxMessage.of(
                            aggregateType, aggregateId, type, "{\"card\":\"card-4242\"}")))
            .id();
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "UPDATE outbox_event SET partition_no = ?, attempts = ?, last_error = ?,"
                    + " next_attempt_at = CASE WHEN ? > 0 THEN now() + interval '1 minute' END"
                    + " WHERE id = ?")) {
      s.setInt(1, partition);
      s.setInt(2, attempts);
      s.setString(3, error);
      s.setInt(4, attempts);
      s.setObject(5, id);
      assertThat(s.executeUpdate()).isEqualTo(1);
    }
    return id;
  }

  /** The event ids of a table, in the order printed. */
  private static List<UUID> ids(String table) {
    List<UUID> ids = new ArrayList<>();
    Matcher m =
        Pattern.compile(
                "(?m)^\\d+ +([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}) ")
            .matcher(table);
    while (m.find()) {
      ids.add(UUID.fromString(m.group(1)));
    }
    return ids;
  }

  private static String[] with(String[] first, String... more) {
    List<String> all = new ArrayList<>(List.of(more));
    all.addAll(List.of(first));
    return all.toArray(String[]::new);
  }

  private static long single(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** A JSON member, whatever the pretty printer puts around the colon. */
  private static String json(String name, String value) {
    return "\"" + name + "\" ?: " + Pattern.quote(value);
  }

  private static String purgeSince(Run purge) throws SQLException {
    String target = audit("operation = 'PURGE' AND outcome = 'OK'").get(0);
    Matcher m = Pattern.compile("since=(\\S+):").matcher(target);
    assertThat(m.find()).as(target).isTrue();
    return m.group(1);
  }

  private static String groupOf(String groupsOutput, String exceptionClass) {
    Matcher m = Pattern.compile("(?m)^([0-9a-f]{12}) .*" + exceptionClass).matcher(groupsOutput);
    assertThat(m.find()).as(groupsOutput).isTrue();
    return m.group(1);
  }

  private static void park(UUID id, String error) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "UPDATE outbox_event SET status = 'DEAD', attempts = 10, last_error = ?"
                    + " WHERE id = ?")) {
      s.setString(1, error);
      s.setObject(2, id);
      assertThat(s.executeUpdate()).isEqualTo(1);
    }
  }

  private static long count(String where) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM outbox_event WHERE " + where)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static String lastAudit() throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT outcome, operation, principal, source_address, target FROM outbox_audit"
                    + " ORDER BY id DESC LIMIT 1")) {
      rs.next();
      return String.join(
          " ", rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5));
    }
  }

  private static List<String> audit(String where) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT principal, source_address, target FROM outbox_audit WHERE "
                    + where
                    + " ORDER BY id")) {
      while (rs.next()) {
        rows.add(String.join(" ", rs.getString(1), rs.getString(2), rs.getString(3)));
      }
    }
    return rows;
  }

  private static void execute(String sql) throws SQLException {
    try (Connection c = db.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }
}
