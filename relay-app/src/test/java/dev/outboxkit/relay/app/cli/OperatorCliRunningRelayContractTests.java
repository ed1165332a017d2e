package dev.outboxkit.relay.app.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.RelayConfig;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.relay.RelaySchema;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.test.TestDatabase;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
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
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 21: the operator CLI against a polling relay that runs (in this JVM) on the database, with
 * its broker unreachable, so that its circuit breaker opens. The CLI, another "process" that reads
 * only the tables, shows the relay's state and its circuit as the relay reported them in its member
 * row, a member row that is not renewed as {@code STALE} (never as what it last said), the leases
 * the relay holds, the events that wait, and the CDC state row. One session per database, in order.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class OperatorCliRunningRelayContractTests {

  private static final Duration PATIENCE = Duration.ofSeconds(90);

  private final List<UUID> events = new ArrayList<>();
  private OutboxDialect dialect;
  private OutboxRelay relay;
  private String idPattern;

  /** A database of this class's own on the shared server. */
  abstract TestDatabase db();

  @BeforeAll
  void schemaEventsAndARelayWhoseBrokerIsUnreachable() throws Exception {
    try (Connection c = db().dataSource().getConnection()) {
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
    JdbcTransactions tx = JdbcTransactions.of(db().dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    for (String key : List.of("o-1", "o-2", "o-3")) {
      events.add(
          tx.inTransaction(c -> outbox.append(OutboxMessage.of("order", key, "OrderPlaced", "{}")))
              .id());
    }
    relay =
        OutboxRelay.builder()
            .dataSource(db().dataSource())
            .config(
                RelayConfig.custom()
                    .bootstrapServers("127.0.0.1:" + closedPort())
                    .verifyTopics(false)
                    .instanceId("cli-relay-" + db().kind().key())
                    .sendTimeout(Duration.ofSeconds(2))
                    .retryBackoff(Duration.ofMillis(100), 2.0, Duration.ofSeconds(1))
                    // Opens after two failed batches and stays open for the whole test.
                    .circuitBreaker(
                        new RelayConfig.CircuitBreaker(4, 2, 50, Duration.ofMinutes(10), 1))
                    .build())
            .build();
    relay.start();
    // The member id the relay registers is the configured one with a unique suffix.
    idPattern = Pattern.quote(relay.status().instanceId()) + "\\S*";
  }

  @AfterAll
  void stopRelayAndDropDatabase() {
    if (relay != null) {
      relay.close();
    }
    db().close();
  }

  record Run(int code, String out, String err) {
    String all() {
      return out + err;
    }
  }

  Run cli(String... command) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    List<String> args = new ArrayList<>(List.of(command));
    args.add("--spring.datasource.url=" + db().jdbcUrl());
    args.add("--spring.datasource.username=" + db().username());
    args.add("--spring.datasource.password=" + db().password());
    int code =
        OperatorCli.run(
            args.toArray(String[]::new),
            new PrintWriter(out, true),
            new PrintWriter(err, true),
            Map.of());
    Run run = new Run(code, out.toString(), err.toString());
    if (!db().password().isEmpty()) {
      assertThat(run.all()).as("secrets in the output").doesNotContain(db().password());
    }
    return run;
  }

  /** The first CLI run that {@code matches}, within {@link #PATIENCE}. */
  Run cliUntil(String regex, String... command) {
    AtomicReference<Run> last = new AtomicReference<>();
    await()
        .atMost(PATIENCE)
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              Run run = cli(command);
              last.set(run);
              assertThat(run.code()).as(run.all()).isZero();
              assertThat(run.out()).containsPattern(regex);
            });
    return last.get();
  }

  @Test
  @Order(1)
  void statusShowsTheRunningRelayWithItsCircuitOpen() {
    Run status =
        cliUntil("(?m)^" + idPattern + " +16 +\\d+s ago +(yes|no) +RUNNING +OPEN$", "status");
    assertThat(status.out())
        .contains("Pending events   3 (oldest ")
        .contains("Partitions       16, 0 unowned or expired")
        .containsPattern("(?m)^" + String.join(" {2,}", RelayCommands.STATUS_HEADER) + "$");
    Run json = cli("status", "--output", "json");
    assertThat(json.code()).as(json.all()).isZero();
    assertThat(json.out())
        .containsPattern("\"id\" : \"" + idPattern + "\"")
        .contains("\"state\" : \"RUNNING\"")
        .contains("\"stale\" : false")
        .contains("\"circuitState\" : \"OPEN\"");
  }

  @Test
  @Order(2)
  void leasesShowThePartitionsTheRelayHolds() {
    Run leases = cli("leases");
    assertThat(leases.code()).as(leases.all()).isZero();
    for (int p : List.of(0, 7, 15)) {
      assertThat(leases.out())
          .containsPattern("(?m)^" + p + " +" + idPattern + " +\\d+ +\\d+s +held$");
    }
    assertThat(leases.out()).containsPattern("(?m)^" + idPattern + " +\\d+s ago +(yes|no)$");
    Run json = cli("leases", "--json");
    assertThat(json.out())
        .containsPattern("\"owner\" : \"" + idPattern + "\"")
        .doesNotContain("\"free\"");
  }

  @Test
  @Order(3)
  void pendingShowsTheEventsTheOpenCircuitHoldsBackOldestFirst() {
    Run summary = cli("pending");
    assertThat(summary.code()).as(summary.all()).isZero();
    assertThat(summary.out()).containsPattern("Pending events   3 in [123] partitions");

    Run list = cli("pending", "list", "--aggregate-type", "order", "--limit", "2");
    assertThat(list.code()).as(list.all()).isZero();
    assertThat(list.out())
        .containsPattern("(?m)^\\d+ +" + events.get(0) + " +\\d+ +order +o-1 +OrderPlaced ")
        .containsPattern("(?m)^\\d+ +" + events.get(1) + " +\\d+ +order +o-2 +OrderPlaced ")
        .doesNotContain(events.get(2).toString())
        .contains("(first 2 shown; --limit shows more)");
    assertThat(list.out().indexOf(events.get(0).toString()))
        .isLessThan(list.out().indexOf(events.get(1).toString()));
  }

  /**
   * A member row that was not renewed for minutes (a relay frozen, or cut off from the database
   * before its row expired) is STALE: what it last reported, RUNNING and CLOSED, is not shown as
   * its state now.
   */
  @Test
  @Order(4)
  void aMemberRowThatIsNotRenewedIsShownStaleNeverHealthy() throws Exception {
    try (Connection c = db().dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "INSERT INTO outbox_relay_member (member_id, heartbeat_at, expires_at,"
                    + " session_lock, relay_state, circuit_state)"
                    + " VALUES ('relay-frozen', ?, ?, ?, 'RUNNING', 'CLOSED')")) {
      Instant now = Instant.now();
      dialect.setInstant(s, 1, now.minus(Duration.ofMinutes(5)));
      // Not expired yet (the running relay deletes expired member rows), and without a session
      // lock, so that the running relay does not find it dead and delete it either.
      dialect.setInstant(s, 2, now.plus(Duration.ofHours(1)));
      s.setBoolean(3, false);
      assertThat(s.executeUpdate()).isOne();
    }
    Run status = cli("status");
    assertThat(status.code()).as(status.all()).isZero();
    assertThat(status.out())
        .containsPattern(
            "(?m)^relay-frozen +\\d+ +\\d+m\\d\\ds ago +no +STALE +CLOSED \\(stale\\)$")
        .doesNotContainPattern("(?m)^relay-frozen .*RUNNING");
    Run json = cli("status", "--json");
    assertThat(json.out())
        .containsPattern(
            "\"id\" : \"relay-frozen\",[^}]*\"state\" : \"STALE\",\\s*\"stale\" : true,"
                + "\\s*\"reportedState\" : \"RUNNING\",\\s*\"circuitState\" : \"CLOSED\"");
  }

  @Test
  @Order(5)
  void cdcShowsTheEngineRowOfTheStateTable() throws Exception {
    String key = "[\"engine\",{\"server\":\"outboxkit\"}]";
    String value = "{\"file\":\"binlog.000007\",\"pos\":1234,\"row\":1}";
    Base64.Encoder b64 = Base64.getEncoder();
    try (Connection c = db().dataSource().getConnection();
        PreparedStatement s =
            c.prepareStatement(
                "INSERT INTO outbox_cdc_state (name, owner_id, epoch, expires_at, offsets,"
                    + " updated_at) VALUES ('outboxkit', 'relay-c', 4, ?, ?, ?)")) {
      dialect.setInstant(s, 1, Instant.now().plus(Duration.ofMinutes(10)));
      s.setString(
          2,
          b64.encodeToString(key.getBytes(StandardCharsets.UTF_8))
              + " "
              + b64.encodeToString(value.getBytes(StandardCharsets.UTF_8))
              + "\n");
      dialect.setInstant(s, 3, Instant.now().minus(Duration.ofSeconds(30)));
      assertThat(s.executeUpdate()).isOne();
    }
    Run cdc = cli("cdc", "--outbox.relay.mode=cdc");
    assertThat(cdc.code()).as(cdc.all()).isZero();
    assertThat(cdc.out())
        .contains("CDC engine       outboxkit")
        .containsPattern("Owner            relay-c \\(epoch 4, expires in \\d+m\\d\\ds\\)")
        .containsPattern("Offsets stored   \\d+s ago")
        .contains("Position         " + value);
    Run status = cli("status", "--outbox.relay.mode=cdc");
    assertThat(status.code()).as(status.all()).isZero();
    assertThat(status.out()).contains("CDC engine       outboxkit: owner relay-c (epoch 4)");
  }

  /** A port nothing listens on: the relay's producer is refused and its sends time out. */
  private static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
