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
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The operator CLI's read commands on a real MariaDB (a database of its own on the shared server),
 * configured as the relay is: {@code check}, {@code pending}, {@code pending list} and {@code cdc},
 * whose binlog position is the one Debezium stored in the CDC state table (MariaDB has no
 * replication slots).
 */
@ServerTest
class OperatorCliMariaDbIntegrationTests {

  static final TestDatabase db = TestServers.mariadb().createDatabase("operator_cli_maria");
  static final List<UUID> events = new ArrayList<>();

  @BeforeAll
  static void schemaAndEvents() throws Exception {
    OutboxDialect dialect;
    try (Connection c = db.dataSource().getConnection()) {
      dialect = OutboxDialect.detect(c);
      OutboxSchema.create(c, dialect, OutboxTable.DEFAULT);
      RelaySchema.create(
          c,
          dialect,
          OutboxTable.DEFAULT,
          OutboxTable.of(RelayDefaults.LEASE_TABLE),
          OutboxTable.of(RelayDefaults.MEMBER_TABLE));
      CdcSchema.create(c, dialect, OutboxTable.of(RelayDefaults.CDC_STATE_TABLE));
    }
    JdbcTransactions tx = JdbcTransactions.of(db.dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    for (String key : List.of("c-1", "c-2", "c-3")) {
      events.add(
          tx.inTransaction(
                  c -> outbox.append(OutboxMessage.of("customer", key, "Registered", "{}")))
              .id());
    }
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "UPDATE outbox_event SET partition_no = 5, attempts = 3, last_error = ?,"
                    + " next_attempt_at = ? WHERE id = ?")) {
      s.setString(1, "TimeoutException: Topic customer not present in metadata after 60000 ms.");
      dialect.setInstant(s, 2, Instant.now().plus(Duration.ofMinutes(2)));
      dialect.setUuid(s, 3, events.get(0));
      assertThat(s.executeUpdate()).isEqualTo(1);
    }
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement("UPDATE outbox_event SET partition_no = 5 WHERE id <> ?")) {
      dialect.setUuid(s, 1, events.get(0));
      s.executeUpdate();
    }
  }

  @AfterAll
  static void dropDatabase() {
    db.close();
  }

  record Run(int code, String out, String err) {}

  static Run cli(String... command) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    List<String> args = new ArrayList<>(List.of(command));
    args.add("--spring.datasource.url=" + db.jdbcUrl());
    args.add("--spring.datasource.username=" + db.username());
    args.add("--spring.datasource.password=" + db.password());
    int code =
        OperatorCli.run(
            args.toArray(String[]::new),
            new PrintWriter(out, true),
            new PrintWriter(err, true),
            Map.of());
    Run run = new Run(code, out.toString(), err.toString());
    if (!db.password().isEmpty()) {
      assertThat(run.out() + run.err()).doesNotContain(db.password());
    }
    return run;
  }

  @Test
  void checkPassesAndPendingShowsThePartitionAndTheOldestEventsInOrder() {
    Run check = cli("check");
    assertThat(check.code()).as(check.out() + check.err()).isZero();

    Run summary = cli("pending");
    assertThat(summary.code()).as(summary.out() + summary.err()).isZero();
    assertThat(summary.out())
        .contains("Pending events   3 in 1 partitions")
        .containsPattern("(?m)^5 +3 +1 +\\d+s +3 +\\d{4}-\\S+Z$");

    Run list = cli("pending", "list", "--limit", "2");
    assertThat(list.code()).as(list.out() + list.err()).isZero();
    assertThat(list.out())
        .containsPattern(
            "(?m)^\\d+ +"
                + events.get(0)
                + " +5 +customer +c-1 +Registered +\\S+ +3 +\\S+ +TimeoutException: Topic"
                + " customer not present in metadata after 60000 ms\\.$")
        .containsPattern("(?m)^\\d+ +" + events.get(1) + " +5 +customer +c-2 +Registered ")
        .doesNotContain(events.get(2).toString())
        .contains("(first 2 shown; --limit shows more)");
    assertThat(list.out().indexOf(events.get(0).toString()))
        .isLessThan(list.out().indexOf(events.get(1).toString()));

    Run bad = cli("pending", "list", "--limit", "1001");
    assertThat(bad.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(bad.err()).contains("--limit must be 1 to 1000 but was 1001");
  }

  @Test
  void cdcShowsTheEngineLeaseAndTheBinlogPositionDebeziumStored() throws Exception {
    String key = "[\"engine\",{\"server\":\"outboxkit\"}]";
    String value = "{\"file\":\"mariadb-bin.000003\",\"pos\":4711,\"row\":1}";
    Base64.Encoder b64 = Base64.getEncoder();
    try (Connection c = db.dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "INSERT INTO outbox_cdc_state (name, owner_id, epoch, expires_at, offsets,"
                    + " updated_at) VALUES ('outboxkit', 'relay-b', 2, ?, ?, ?)")) {
      OutboxDialect dialect = OutboxDialect.detect(c);
      // Expired a minute ago: the owner's lease lapsed.
      dialect.setInstant(s, 1, Instant.now().minus(Duration.ofMinutes(1)));
      s.setString(
          2,
          b64.encodeToString(key.getBytes(StandardCharsets.UTF_8))
              + " "
              + b64.encodeToString(value.getBytes(StandardCharsets.UTF_8))
              + "\n");
      dialect.setInstant(s, 3, Instant.now().minus(Duration.ofMinutes(2)));
      s.executeUpdate();
    }
    Run run = cli("cdc", "--outbox.relay.mode=cdc");
    assertThat(run.code()).as(run.out() + run.err()).isZero();
    assertThat(run.out())
        .contains("CDC engine       outboxkit")
        .contains("Owner            relay-b (epoch 2, expired)")
        .containsPattern("Offsets stored   2m\\d\\ds ago")
        .contains("Position         " + value)
        .doesNotContain("SLOT");
    Run json = cli("cdc", "--outbox.relay.mode=cdc", "--json");
    assertThat(json.out())
        .contains("\"expired\" : true")
        .contains("\"position\" : \"{\\\"file\\\":\\\"mariadb-bin.000003\\\"")
        .doesNotContain("\"slots\"");
    Run status = cli("status", "--outbox.relay.mode=cdc");
    assertThat(status.out()).contains("CDC engine       outboxkit: no owner (epoch 2)");
  }
}
