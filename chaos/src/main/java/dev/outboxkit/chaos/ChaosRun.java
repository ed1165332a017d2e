package dev.outboxkit.chaos;

import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.RelayConfig;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.test.DatabaseKind;
import java.io.PrintStream;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.jspecify.annotations.Nullable;

/**
 * One chaos run: prepare the tables and topic, start the relays, the writers and the topic reader,
 * inject faults in a loop, stop the writers, drain, and check the ledger.
 */
public final class ChaosRun {

  private static final int TOPIC_PARTITIONS = 8;

  private final ChaosConfig config;
  private final PrintStream out;
  private final Clock clock;

  public ChaosRun(ChaosConfig config, PrintStream out, Clock clock) {
    this.config = config;
    this.out = out;
    this.clock = clock;
  }

  /** Runs and returns the report; throws only when the run could not be set up or carried out. */
  public ChaosReport run() throws Exception {
    long started = clock.millis();
    String runId = Long.toString(Math.abs(config.seed()) % 1_000_000) + "x" + (started % 100_000);
    String topic = "chaos" + runId;
    String cdcName = "outboxkit_chaos";
    Random random = new Random(config.seed());
    // Watching from once the servers are up to the end of the drain: a kit starved meanwhile
    // (its writers, reader and fault timing) measures the machine, not the relays.
    try (StarvationWatch starvation =
            StarvationWatch.ofThisJvm(
                StarvationWatch.limitFor(config.leaseTtl()), (a, b) -> false);
        ChaosEnvironment environment = ChaosEnvironment.open(config)) {
      starvation.start();
      out.println("[chaos] " + environment.description() + ", mode " + config.mode());
      OutboxDialect dialect = Schema.prepare(environment.admin(), config.mode(), config.keyLoad());
      if (config.mode() == Mode.CDC) {
        dropCdcState(environment, cdcName);
      }
      environment.createTopic(topic, TOPIC_PARTITIONS);
      String deadLetterTopic = topic + "-dlt";
      String poisonTopic = topic + "-small";
      environment.createTopic(deadLetterTopic, 1, Map.of());
      environment.createTopic(
          poisonTopic,
          1,
          Map.of("max.message.bytes", String.valueOf(PoisonEvents.TOPIC_MAX_BYTES)));
      Ledger ledger = new Ledger();
      HikariDataSource writerPool =
          ChaosEnvironment.pool(
              environment.jdbcUrl(),
              environment.user(),
              environment.password(),
              "chaos-writers",
              config.writers() + 1);
      JdbcTransactions transactions = JdbcTransactions.of(writerPool);
      Outbox outbox = Outbox.builder().connectionProvider(transactions).dialect(dialect).build();
      KeyLoad keyLoad = config.keyLoad();
      KeyClaims claims = keyLoad.enabled() ? new KeyClaims(keyLoad, transactions, dialect) : null;
      // The purge gets connections of its own: one per table at a time, and one to spare.
      HikariDataSource purgePool =
          ChaosEnvironment.pool(
              environment.jdbcUrl(), environment.user(), environment.password(), "chaos-purger", 2);
      if (environment.kafkaAuthorizes()) {
        // What a relay needs: describe (the topic check) and write, on each of its topics.
        List<AclBinding> grants = new ArrayList<>();
        for (String t : List.of(topic, deadLetterTopic, poisonTopic)) {
          grants.add(ChaosEnvironment.relayAcl(t, AclOperation.DESCRIBE));
          grants.add(ChaosEnvironment.relayAcl(t, AclOperation.WRITE));
        }
        environment.acls(true, grants);
      }
      PoisonEvents poison =
          new PoisonEvents(
              transactions,
              outbox,
              poisonTopic,
              OutboxRelay.builder()
                  .dataSource(environment.admin())
                  .config(
                      RelayConfig.custom().bootstrapServers(environment.bootstrapServers()).build())
                  .build()
                  .parkedEvents());
      List<FaultRecord> done = new ArrayList<>();
      Map<String, String> skipped = new LinkedHashMap<>();
      try (writerPool;
          purgePool;
          RelayFleet fleet = new RelayFleet(config, environment, cdcName, deadLetterTopic);
          TopicReader reader =
              new TopicReader(
                  environment.bootstrapServers(),
                  environment.kafkaClientProperties(),
                  topic,
                  TOPIC_PARTITIONS);
          PurgeLoop purge = new PurgeLoop(keyLoad, purgePool, dialect, clock);
          Writers writers =
              new Writers(config, transactions, outbox, topic, ledger, clock, claims)) {
        fleet.startAll();
        out.println("[chaos] " + config.relays() + " relays started; writing to " + topic);
        reader.start();
        writers.start();
        if (keyLoad.enabled()) {
          purge.start();
          out.printf(
              "[chaos] writers claim %d idempotency keys and %d inbox ids per transaction (TTL %s);"
                  + " purging every %s%n",
              keyLoad.perTransaction(),
              keyLoad.perTransaction(),
              keyLoad.ttl(),
              keyLoad.purgeInterval());
        }
        FaultContext context =
            new FaultContext(
                config,
                environment,
                fleet,
                random,
                clock,
                cdcName,
                topic,
                deadLetterTopic,
                poison,
                () -> new HashSet<>(ledger.partitions().values()));
        List<Fault> faults = usable(Faults.named(config.faults()), context, skipped);
        Pause.of(config.settle());
        List<Fault> schedule = new ArrayList<>();
        long stopFaultsAt = started + config.maxDuration().toMillis();
        for (int cycle = 1; cycle <= config.cycles() && !faults.isEmpty(); cycle++) {
          if (clock.millis() > stopFaultsAt) {
            out.println("[chaos] --max-duration reached after " + (cycle - 1) + " cycles");
            break;
          }
          if (schedule.isEmpty()) {
            // Rounds of every fault in a seeded random order: each kind gets its share of cycles.
            schedule.addAll(faults);
            Collections.shuffle(schedule, random);
          }
          Fault fault = schedule.remove(0);
          FaultRecord record = fault.inject(context);
          done.add(record);
          out.printf(
              "[chaos] cycle %d: %s of %s (%d ms), %d events committed%n",
              cycle,
              record.fault(),
              record.target(),
              record.endMillis() - record.startMillis(),
              ledger.certain());
          respawnDead(fleet, done);
          Pause.of(config.settle());
        }
        writers.close();
        purge.close();
        out.println("[chaos] writers stopped; draining");
        drain(reader, ledger);
        long end = clock.millis();
        LedgerCheck.Result result =
            LedgerCheck.check(
                ledger,
                reader.deliveries(),
                done,
                config,
                end,
                poison.committed(),
                poison.parkedIds());
        List<String> starved = new ArrayList<>();
        starvation.episodes().forEach(e -> starved.add(e.describe("the kit")));
        starved.addAll(fleet.starvation());
        return report(
            environment,
            done,
            skipped,
            result,
            poison.parkedOf(topic),
            writers,
            figures(claims, purge),
            starved,
            started,
            end);
      }
    }
  }

  private ChaosReport.KeyFigures figures(@Nullable KeyClaims claims, PurgeLoop purge) {
    if (claims == null) {
      return ChaosReport.KeyFigures.none();
    }
    return new ChaosReport.KeyFigures(
        true,
        claims.executed(),
        claims.replayed(),
        claims.inFlight(),
        claims.blocked(),
        claims.mismatched(),
        claims.processed(),
        claims.duplicates(),
        purge.runs(),
        purge.purged(),
        claims.examples(),
        purge.failures(),
        purge.rolledBack(),
        purge.failureExamples());
  }

  private List<Fault> usable(List<Fault> asked, FaultContext context, Map<String, String> skipped) {
    List<Fault> usable = new ArrayList<>();
    for (Fault fault : asked) {
      String why = fault.unavailableReason(context);
      if (why == null) {
        usable.add(fault);
      } else {
        skipped.put(fault.name(), why);
        out.println("[chaos] skipping " + fault.name() + ": " + why);
      }
    }
    return usable;
  }

  /** A relay that died by itself is a finding: note it, and replace it so the run goes on. */
  private void respawnDead(RelayFleet fleet, List<FaultRecord> done) {
    for (RelayFleet.Relay dead : fleet.unexpectedlyDead()) {
      out.println(
          "[chaos] relay "
              + dead.id()
              + " exited by itself ("
              + dead.process().exitValue()
              + "); its log ends:\n"
              + RelayFleet.tail(dead, 30));
      long now = clock.millis();
      done.add(
          new FaultRecord(
              "relay-exited", dead.id(), now, now, FaultRecord.Measure.NONE, Set.of(), 1));
      fleet.respawn(dead.slot());
    }
  }

  /** Waits until every committed event was read, or the drain timeout; then reads a bit more. */
  private void drain(TopicReader reader, Ledger ledger) {
    long deadline = System.nanoTime() + config.drainTimeout().toNanos();
    Set<String> committed = new HashSet<>();
    for (Ledger.Written w : ledger.all()) {
      if (w.certain()) {
        committed.add(w.key() + "#" + w.n());
      }
    }
    while (System.nanoTime() < deadline) {
      Set<String> missing = new HashSet<>(committed);
      for (Delivery d : reader.deliveries()) {
        missing.remove(d.key() + "#" + d.n());
      }
      if (missing.isEmpty()) {
        break;
      }
      Pause.millis(500);
    }
    // Late copies (a woken zombie, a retried batch) count too.
    Pause.of(Duration.ofSeconds(3));
  }

  private void dropCdcState(ChaosEnvironment environment, String cdcName) throws SQLException {
    try (Connection c = environment.admin().getConnection()) {
      if (environment.kind() == DatabaseKind.POSTGRESQL) {
        try (PreparedStatement ps =
            c.prepareStatement(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                    + " WHERE slot_name = ? AND NOT active")) {
          ps.setString(1, cdcName);
          ps.execute();
        }
      }
      try (PreparedStatement ps =
          c.prepareStatement("DELETE FROM " + RelayDefaults.CDC_STATE_TABLE + " WHERE name = ?")) {
        ps.setString(1, cdcName);
        ps.executeUpdate();
      }
    }
  }

  private ChaosReport report(
      ChaosEnvironment environment,
      List<FaultRecord> done,
      Map<String, String> skipped,
      LedgerCheck.Result r,
      long healthyParked,
      Writers writers,
      ChaosReport.KeyFigures keys,
      List<String> starved,
      long started,
      long end) {
    Map<String, Integer> byType = new TreeMap<>();
    long cycles = done.stream().filter(f -> !f.fault().equals("relay-exited")).count();
    done.forEach(f -> byType.merge(f.fault(), 1, Integer::sum));
    List<String> violations = new ArrayList<>(r.violations());
    if (byType.containsKey("relay-exited")) {
      violations.add(byType.get("relay-exited") + " relays exited by themselves");
    }
    if (healthyParked > 0) {
      violations.add(
          healthyParked + " healthy events were parked (they count as lost until replayed)");
    }
    List<String> examples = new ArrayList<>(r.examples());
    if (writers.rolledBack() > 0) {
      violations.add(
          writers.rolledBack()
              + " writer transactions were rolled back by the database (a deadlock or a lock"
              + " timeout): neither the relay nor the idempotency purge may ever fail the"
              + " application's transaction");
      examples.addAll(writers.rollbackExamples());
    }
    if (keys.blocked() > 0) {
      violations.add(
          keys.blocked()
              + " idempotency key or inbox claims of the writers waited the lock timeout: the"
              + " writers share no key, so the purge held one (it must never make the application"
              + " wait)");
    }
    if (keys.purgeRollbacks() > 0) {
      violations.add(
          keys.purgeRollbacks()
              + " purges of expired idempotency keys were rolled back by the database (a deadlock"
              + " or a lock timeout): the purge waited for a row a writer held, and it must never"
              + " wait");
      keys.purgeFailureExamples().stream()
          .limit(Math.min(3, keys.purgeRollbacks()))
          .forEach(e -> examples.add("purge failed: " + e));
    }
    if (keys.mismatched() > 0) {
      violations.add(
          keys.mismatched()
              + " idempotency keys of the writers were answered as a mismatch, although every"
              + " claim of a key has the same fingerprint");
    }
    if (keys.blocked() > 0 || keys.mismatched() > 0) {
      examples.addAll(keys.claimExamples());
    }
    for (FaultRecord f : done) {
      if (f.problem() != null) {
        violations.add(f.fault() + " at " + f.startMillis() + ": " + f.problem());
      }
    }
    return new ChaosReport(
        environment.description(),
        config.mode().name().toLowerCase(java.util.Locale.ROOT),
        config.seed(),
        (int) cycles,
        byType,
        skipped,
        r.events(),
        r.inDoubt(),
        r.inDoubtDelivered(),
        writers.rolledBack(),
        keys,
        r.records(),
        r.lost(),
        r.reordered(),
        r.duplicates(),
        r.duplicateBound(),
        r.unknown(),
        r.poisonEvents(),
        r.poisonParked(),
        r.takeoverMillis(),
        r.recoveryMillis(),
        r.stallMillis(),
        r.timesByFault(),
        r.stuckPartitions(),
        violations,
        examples,
        starved,
        (end - started) / 1000);
  }
}
