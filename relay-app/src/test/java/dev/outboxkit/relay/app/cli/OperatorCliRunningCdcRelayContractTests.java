package dev.outboxkit.relay.app.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
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
import dev.outboxkit.relay.cdc.CdcOptions;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.test.ProxiedKafkaBroker;
import dev.outboxkit.test.StallingProxy;
import dev.outboxkit.test.TestDatabase;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue 21: the operator CLI against a real CDC relay (Debezium reading this database's change log,
 * in this JVM) that publishes to a broker of its own behind a proxy. A CDC relay has no member row:
 * its lease holder reports its state and its circuit breaker's in the engine's state row at every
 * renewal (schema version 11), and the CLI, another "process" that reads only the tables, shows
 * them in {@code status} and {@code cdc}: RUNNING and CLOSED while it publishes, OPEN once the
 * broker stalls, STOPPED without an owner once it stopped, and STALE (never RUNNING) while a holder
 * cut off from the database cannot renew. One session per database, in order.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class OperatorCliRunningCdcRelayContractTests {

  private static final Duration PATIENCE = Duration.ofSeconds(90);
  private static final Duration HEARTBEAT = Duration.ofMillis(250);
  private static final String TOPIC = "clicdc";

  private final List<AutoCloseable> closing = new ArrayList<>();
  private ProxiedKafkaBroker kafka;
  private JdbcTransactions tx;
  private Outbox outbox;
  private OutboxRelay relay;
  private String owner;

  /** A database of this class's own on the shared server. */
  abstract TestDatabase db();

  /** The engine name: also the replication slot's (PostgreSQL) and the binlog client's id. */
  abstract String engine();

  /** Drops what the engine left on the server that would keep its database from being dropped. */
  void dropChangeLogObjects(Statement admin) throws SQLException {}

  @BeforeAll
  void schemaBrokerAndARunningCdcRelay() throws Exception {
    OutboxDialect dialect;
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
    kafka = ProxiedKafkaBroker.start();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      admin
          .createTopics(List.of(new NewTopic(TOPIC, 2, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }
    tx = JdbcTransactions.of(db().dataSource());
    outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    relay = relay(db().dataSource(), "cli-cdc-a-");
    relay.start();
    // The owner name in the state row is the instance id with a per-process suffix.
    owner = Pattern.quote(relay.status().instanceId()) + "\\S*";
  }

  @AfterAll
  void stopRelaysAndDropDatabase() throws Exception {
    if (kafka != null) {
      kafka.proxy().release();
    }
    if (relay != null) {
      relay.close();
    }
    for (int i = closing.size() - 1; i >= 0; i--) {
      closing.get(i).close();
    }
    try (Connection c = db().dataSource().getConnection();
        Statement s = c.createStatement()) {
      dropChangeLogObjects(s);
    } finally {
      db().close();
      if (kafka != null) {
        kafka.close();
      }
    }
  }

  /**
   * A CDC relay on {@code dataSource} whose circuit breaker opens after two failed sends (of a
   * window of four) and stays open for the rest of the test.
   */
  private OutboxRelay relay(DataSource dataSource, String idPrefix) {
    TestDatabase db = db();
    return OutboxRelay.builder()
        .dataSource(dataSource)
        .config(
            RelayConfig.custom()
                .bootstrapServers(kafka.bootstrapServers())
                .instanceId(idPrefix + db.kind().key())
                .cdc(
                    CdcOptions.builder(db.jdbcUrl(), db.username(), db.password())
                        .name(engine())
                        .autoCreate(true)
                        .heartbeatInterval(Duration.ofMillis(500))
                        .build())
                .leases(Duration.ofSeconds(10), HEARTBEAT)
                .sendTimeout(Duration.ofSeconds(2))
                .retryBackoff(Duration.ofMillis(100), 2.0, Duration.ofSeconds(1))
                .metricsInterval(Duration.ofMillis(200))
                .circuitBreaker(new RelayConfig.CircuitBreaker(4, 2, 50, Duration.ofMinutes(10), 1))
                .shutdownTimeout(Duration.ofSeconds(5))
                .build())
        .build();
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
    args.add("--outbox.relay.mode=cdc");
    args.add("--outbox.relay.cdc.name=" + engine());
    args.add("--outbox.relay.leases.heartbeat-interval=" + HEARTBEAT.toMillis() + "ms");
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
        .pollInterval(Duration.ofMillis(300))
        .untilAsserted(
            () -> {
              Run run = cli(command);
              last.set(run);
              assertThat(run.code()).as(run.all()).isZero();
              assertThat(run.out()).containsPattern(regex);
            });
    return shown(last.get(), command);
  }

  /** A CLI run, printed whole. */
  Run session(String... command) {
    return shown(cli(command), command);
  }

  /** A run printed whole: the sessions in the docs are captured from this test's output. */
  private Run shown(Run run, String... command) {
    System.out.println("[" + db().kind().key() + "] " + String.join(" ", command) + "\n" + run);
    return run;
  }

  /** The engine's row of {@code status}'s table in CDC mode. */
  private String statusRow(String owner, String state, String circuit) {
    return "(?m)^"
        + Pattern.quote(engine())
        + " +"
        + owner
        + " +\\d+ +\\d+s ago +"
        + state
        + " +"
        + Pattern.quote(circuit)
        + "$";
  }

  @Test
  @Order(1)
  void statusAndCdcShowTheLeaseHolderRunningWithItsCircuitClosed() throws Exception {
    tx.inTransaction(c -> outbox.append(OutboxMessage.of(TOPIC, "o-1", "OrderPlaced", "{}")));
    // Published: CDC deletes the row with the stored offsets, and parks nothing.
    cliUntil("Pending events   0 ", "status");
    Run status = cliUntil(statusRow(owner, "RUNNING", "CLOSED"), "status");
    assertThat(status.out())
        .contains("Parked events    0")
        .containsPattern("CDC engine       " + Pattern.quote(engine()) + ": owner " + owner)
        .containsPattern("(?m)^" + String.join(" {2,}", RelayCommands.CDC_STATUS_HEADER) + "$");
    Run json = session("status", "--output", "json");
    assertThat(json.code()).as(json.all()).isZero();
    assertThat(json.out())
        .containsPattern("\"owner\" : \"" + owner + "\"")
        .containsPattern("\"heartbeatAt\" : \"\\d{4}-")
        .contains("\"state\" : \"RUNNING\"")
        .contains("\"stale\" : false")
        .contains("\"reportedState\" : \"RUNNING\"")
        .contains("\"circuitState\" : \"CLOSED\"");

    Run cdc = session("cdc");
    assertThat(cdc.code()).as(cdc.all()).isZero();
    assertThat(cdc.out())
        .contains("CDC engine       " + engine())
        .containsPattern("Owner            " + owner + " \\(epoch \\d+, expires in \\d+s\\)")
        .containsPattern("Last heartbeat   \\d+s ago\n")
        .contains("State            RUNNING")
        .contains("Circuit          CLOSED")
        .doesNotContain("Position         -");
    Run cdcJson = session("cdc", "--json");
    assertThat(cdcJson.out())
        .contains("\"state\" : \"RUNNING\"")
        .contains("\"circuitState\" : \"CLOSED\"");
  }

  @Test
  @Order(2)
  void withTheBrokerStalledTheHoldersCircuitOpens() throws Exception {
    kafka.proxy().stall(label -> true);
    for (String key : List.of("o-2", "o-3")) {
      tx.inTransaction(c -> outbox.append(OutboxMessage.of(TOPIC, key, "OrderPlaced", "{}")));
    }
    cliUntil(statusRow(owner, "RUNNING", "OPEN"), "status");
    Run cdc = cliUntil("Circuit          OPEN", "cdc");
    assertThat(cdc.out()).contains("State            RUNNING");
    Run json = session("status", "--json");
    assertThat(json.out())
        .contains("\"state\" : \"RUNNING\"")
        .contains("\"stale\" : false")
        .contains("\"circuitState\" : \"OPEN\"");
  }

  @Test
  @Order(3)
  void aStoppedRelayLeavesTheLeaseFreeAndIsShownStopped() {
    kafka.proxy().release();
    relay.close();
    Run status = session("status");
    assertThat(status.code()).as(status.all()).isZero();
    assertThat(status.out())
        .containsPattern("CDC engine       " + Pattern.quote(engine()) + ": no owner")
        .containsPattern(statusRow("-", "STOPPED", "OPEN"))
        .doesNotContainPattern("(?m)^" + Pattern.quote(engine()) + " .*RUNNING");
    Run cdc = session("cdc");
    assertThat(cdc.out())
        .containsPattern("Owner            - \\(epoch \\d+, free\\)")
        .containsPattern("Last heartbeat   \\d+s ago \\(lease given up\\)")
        .contains("State            STOPPED");
    Run json = session("status", "--json");
    assertThat(json.out())
        .contains("\"owner\" : null")
        .contains("\"state\" : \"STOPPED\"")
        .contains("\"stale\" : false");
  }

  /**
   * A lease holder cut off from the database (its connections stalled by a proxy: renewals hang,
   * nothing fails) last reported RUNNING and CLOSED; once its row is not renewed for four heartbeat
   * intervals (at least 3 s) it is shown STALE, never RUNNING.
   */
  @Test
  @Order(4)
  void aHolderCutOffFromTheDatabaseIsShownStaleNeverRunning() throws Exception {
    StallingProxy dbProxy = StallingProxy.tcp(port(db().jdbcUrl()));
    closing.add(dbProxy);
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(
        db().jdbcUrl().replaceFirst("://[^/]+/", "://127.0.0.1:" + dbProxy.port() + "/"));
    config.setUsername(db().username());
    config.setPassword(db().password());
    config.setMaximumPoolSize(4);
    config.setPoolName("cli-cdc-via-proxy");
    HikariDataSource pool = new HikariDataSource(config);
    closing.add(pool);
    OutboxRelay cutOff = relay(pool, "cli-cdc-b-");
    closing.add(cutOff);
    // Closed after the proxy lets the stalled connections go on (closing is in reverse order).
    closing.add(dbProxy::release);
    cutOff.start();
    String cutOffOwner = Pattern.quote(cutOff.status().instanceId()) + "\\S*";
    // It takes the free lease and publishes what waited (its breaker is a new one: CLOSED).
    cliUntil(statusRow(cutOffOwner, "RUNNING", "CLOSED"), "status");

    dbProxy.stall(label -> true);
    Run status = cliUntil(statusRow(cutOffOwner, "STALE", "CLOSED (stale)"), "status");
    assertThat(status.out())
        .doesNotContainPattern("(?m)^" + Pattern.quote(engine()) + " .*RUNNING");
    Run cdc = session("cdc");
    assertThat(cdc.out())
        .contains("State            STALE")
        .contains("Circuit          CLOSED (stale)");
    Run json = session("status", "--json");
    assertThat(json.out())
        .containsPattern(
            "\"state\" : \"STALE\",\\s*\"stale\" : true,\\s*\"reportedState\" : \"RUNNING\","
                + "\\s*\"circuitState\" : \"CLOSED\"");
    dbProxy.release();
  }

  private static int port(String jdbcUrl) {
    Matcher m = Pattern.compile("://[^/:]+:(\\d+)/").matcher(jdbcUrl);
    if (!m.find()) {
      throw new IllegalArgumentException("No port in " + jdbcUrl);
    }
    return Integer.parseInt(m.group(1));
  }
}
