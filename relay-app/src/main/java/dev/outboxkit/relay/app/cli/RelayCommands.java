package dev.outboxkit.relay.app.cli;

import dev.outboxkit.relay.RelayInspection;
import dev.outboxkit.relay.RelayInspection.Backlog;
import dev.outboxkit.relay.RelayInspection.CdcEngine;
import dev.outboxkit.relay.RelayInspection.CdcState;
import dev.outboxkit.relay.RelayInspection.Check;
import dev.outboxkit.relay.RelayInspection.Lease;
import dev.outboxkit.relay.RelayInspection.Leases;
import dev.outboxkit.relay.RelayInspection.Member;
import dev.outboxkit.relay.RelayInspection.ReplicationSlot;
import dev.outboxkit.relay.cdc.CdcOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code status}, {@code leases} and {@code check}: what the relays' tables say, read only. */
final class RelayCommands {

  /** The header of {@code status}'s instance table (the docs' sessions are checked against it). */
  static final List<String> STATUS_HEADER =
      List.of("INSTANCE", "PARTITIONS", "LAST HEARTBEAT", "SESSION LOCK", "STATE", "CIRCUIT");

  /**
   * The header of {@code status}'s CDC engine table in CDC mode (the docs' sessions are checked
   * against it).
   */
  static final List<String> CDC_STATUS_HEADER =
      List.of("ENGINE", "OWNER", "EPOCH", "LAST HEARTBEAT", "STATE", "CIRCUIT");

  /** The headers of {@code leases}' two tables (the docs' sessions are checked against them). */
  static final List<List<String>> LEASES_HEADERS =
      List.of(
          List.of("PARTITION", "OWNER", "EPOCH", "EXPIRES IN", "STATE"),
          List.of("INSTANCE", "LAST HEARTBEAT", "SESSION LOCK"));

  private RelayCommands() {}

  @Command(
      name = "status",
      description =
          "Backlog (pending events and the oldest one's age), parked events, who owns how many"
              + " partitions, and in CDC mode the engine's owner and its slot's retained WAL (see"
              + " 'cdc'). Also each polling instance's, or the CDC lease holder's, state and"
              + " circuit breaker as it reported them at its last heartbeat (STALE when that is"
              + " old).")
  static final class Status implements Callable<Integer> {
    private final CliContext cli;
    @Mixin CliContext.JsonOption json = new CliContext.JsonOption();

    Status(CliContext cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      Output out = cli.output(json);
      RelayInspection inspection = cli.session().inspection();
      Backlog backlog = inspection.backlog();
      CdcOptions cdc = cli.session().cdcOptions();
      if (cdc != null) {
        return cdcStatus(out, backlog, inspection, cdc, cli.session().heartbeatInterval());
      }
      Leases leases = inspection.leases();
      Map<String, Integer> owned = new TreeMap<>();
      int free = 0;
      for (Lease lease : leases.leases()) {
        if (lease.owner() == null || lease.expired()) {
          free++;
        } else {
          owned.merge(lease.owner(), 1, Integer::sum);
        }
      }
      printBacklog(out, backlog);
      out.line("Partitions       %d, %d unowned or expired", leases.leases().size(), free);
      out.line("");
      List<List<String>> rows = new ArrayList<>();
      Duration heartbeatInterval = cli.session().heartbeatInterval();
      for (Member m : leases.members()) {
        MemberHealth health = MemberHealth.of(m, leases.databaseNow(), heartbeatInterval);
        rows.add(
            List.of(
                m.id(),
                String.valueOf(owned.getOrDefault(m.id(), 0)),
                heartbeat(m, leases),
                m.sessionLock() ? "yes" : "no",
                health.state(),
                health.circuit()));
      }
      out.table(STATUS_HEADER, rows);
      Map<String, Object> doc = backlogDocument(backlog, "polling");
      doc.put("partitions", leases.leases().size());
      doc.put("unownedPartitions", free);
      List<Map<String, Object>> instances = new ArrayList<>();
      for (Member m : leases.members()) {
        Map<String, Object> i = new LinkedHashMap<>();
        i.put("id", m.id());
        i.put("partitions", owned.getOrDefault(m.id(), 0));
        i.put("heartbeatAt", m.heartbeatAt() == null ? null : m.heartbeatAt().toString());
        i.put("sessionLock", m.sessionLock());
        MemberHealth.of(m, leases.databaseNow(), heartbeatInterval).addTo(i);
        instances.add(i);
      }
      doc.put("instances", instances);
      out.document(doc);
      return ExitCodes.OK;
    }

    /**
     * In CDC mode: the backlog, the parked events and the CDC engine's lease and slot from the CDC
     * state table, and what the lease holder reported there of itself (a CDC relay has no member
     * row). The partition leases are the polling relay's, which the CDC relay does not use and its
     * shipped role ({@code outboxkit_cdc_relay}) may not read.
     */
    private static int cdcStatus(
        Output out,
        Backlog backlog,
        RelayInspection inspection,
        CdcOptions cdc,
        Duration heartbeatInterval) {
      printBacklog(out, backlog);
      CdcState state = inspection.cdc(cdc);
      CdcEngine engine = state.engine();
      out.line("CDC engine       %s", cdcLine(state, cdc.name()));
      out.line(
          "Mode             cdc (outbox.relay.mode): the partition leases are the polling relay's;"
              + " see 'cdc' for the engine's position");
      Map<String, Object> cdcDoc = new LinkedHashMap<>();
      cdcDoc.put("name", cdc.name());
      cdcDoc.put("owner", engine == null ? null : engine.owner());
      cdcDoc.put("epoch", engine == null ? null : engine.epoch());
      if (engine != null) {
        MemberHealth health = MemberHealth.of(engine, state.databaseNow(), heartbeatInterval);
        out.line("");
        out.table(
            CDC_STATUS_HEADER,
            List.of(
                List.of(
                    Output.cut(engine.name(), 64),
                    engine.owner() == null ? "-" : Output.cut(engine.owner(), 60),
                    String.valueOf(engine.epoch()),
                    CdcCommand.heartbeat(engine, state),
                    health.state(),
                    health.circuit())));
        cdcDoc.put(
            "heartbeatAt", engine.heartbeatAt() == null ? null : engine.heartbeatAt().toString());
        health.addTo(cdcDoc);
      }
      ReplicationSlot slot = slot(state, cdc.name());
      cdcDoc.put("slotRetainedBytes", slot == null ? null : slot.retainedBytes());
      Map<String, Object> doc = backlogDocument(backlog, "cdc");
      doc.put("cdc", cdcDoc);
      out.document(doc);
      return ExitCodes.OK;
    }

    private static void printBacklog(Output out, Backlog backlog) {
      out.line("Database time    %s", backlog.databaseNow());
      out.line(
          "Pending events   %d (oldest %s)",
          backlog.pending(), Output.age(backlog.oldestPending()));
      out.line(
          "Parked events    %d (oldest %s)%s",
          backlog.parked(),
          Output.age(backlog.oldestParked()),
          backlog.parked() > 0 ? ": see 'parked groups'" : "");
    }

    private static Map<String, Object> backlogDocument(Backlog backlog, String mode) {
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("mode", mode);
      doc.put("databaseTime", backlog.databaseNow().toString());
      doc.put("pending", backlog.pending());
      doc.put("oldestPendingSeconds", seconds(backlog.oldestPending()));
      doc.put("parked", backlog.parked());
      doc.put("oldestParkedSeconds", seconds(backlog.oldestParked()));
      return doc;
    }
  }

  @Command(
      name = "leases",
      description =
          "Every partition's lease (owner, epoch, expiry) and every relay instance; polling mode"
              + " only (a CDC relay holds no partition lease).")
  static final class LeasesCommand implements Callable<Integer> {
    private final CliContext cli;
    @Mixin CliContext.JsonOption json = new CliContext.JsonOption();

    LeasesCommand(CliContext cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      Output out = cli.output(json);
      if (cli.session().cdcOptions() != null) {
        // The CDC relay's shipped role may not read these tables, and a CDC relay holds none.
        throw new IllegalArgumentException(
            "partition leases belong to the polling relay, and this is configured for CDC"
                + " (outbox.relay.mode=cdc): the CDC relay holds one lease, shown with its slot"
                + " in its /actuator/health; 'status' shows the backlog");
      }
      Leases leases = cli.session().inspection().leases();
      Listing partitions = new Listing();
      for (Lease lease : leases.leases()) {
        String state = lease.owner() == null ? "free" : lease.expired() ? "expired" : "held";
        Duration left =
            lease.expiresAt() == null
                ? null
                : Duration.between(leases.databaseNow(), lease.expiresAt());
        Map<String, Object> doc =
            partitions.add(
                List.of(
                    String.valueOf(lease.partition()),
                    lease.owner() == null ? "-" : Output.cut(lease.owner(), 60),
                    String.valueOf(lease.epoch()),
                    left == null || left.isNegative() ? "-" : Output.age(left),
                    state));
        doc.put("partition", lease.partition());
        doc.put("owner", lease.owner());
        doc.put("epoch", lease.epoch());
        doc.put("expiresAt", lease.expiresAt() == null ? null : lease.expiresAt().toString());
        doc.put("state", state);
      }
      partitions.table(out, LEASES_HEADERS.get(0));
      out.line("");
      Listing members = new Listing();
      for (Member m : leases.members()) {
        Map<String, Object> doc =
            members.add(
                List.of(
                    Output.cut(m.id(), 60), heartbeat(m, leases), m.sessionLock() ? "yes" : "no"));
        doc.put("id", m.id());
        doc.put("heartbeatAt", m.heartbeatAt() == null ? null : m.heartbeatAt().toString());
        doc.put("sessionLock", m.sessionLock());
      }
      members.table(out, LEASES_HEADERS.get(1));
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("databaseTime", leases.databaseNow().toString());
      doc.put("leases", partitions.docs());
      doc.put("instances", members.docs());
      out.document(doc);
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "check",
      description =
          "The relay's start-up checks, printable before a deploy: outbox, lease (polling mode"
              + " only) and audit tables with every column, and no pending event beyond"
              + " outbox.store.partitions; in CDC mode also the CDC connection, wal_level or the binlog settings, the replication"
              + " privilege, the publication and slot, and the CDC state table.")
  static final class CheckCommand implements Callable<Integer> {
    private final CliContext cli;
    @Mixin CliContext.JsonOption json = new CliContext.JsonOption();

    CheckCommand(CliContext cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      Output out = cli.output(json);
      CdcOptions cdc = cli.session().cdcOptions();
      List<Check> checks =
          cdc == null ? cli.session().inspection().check() : cli.session().inspection().check(cdc);
      List<Map<String, Object>> docs = new ArrayList<>();
      boolean ok = true;
      for (Check check : checks) {
        ok &= check.ok();
        out.line("%-4s  %s: %s", check.ok() ? "OK" : "FAIL", check.name(), check.detail());
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("name", check.name());
        doc.put("ok", check.ok());
        doc.put("detail", check.detail());
        docs.add(doc);
      }
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("ok", ok);
      doc.put("checks", docs);
      out.document(doc);
      return ok ? ExitCodes.OK : ExitCodes.CHECK_FAILED;
    }
  }

  /** The engine's owner and epoch, and its slot's retained WAL where the database has slots. */
  private static String cdcLine(CdcState state, String name) {
    CdcEngine engine = state.engine();
    String owner =
        engine == null
            ? String.valueOf(state.note())
            : name
                + ": "
                + (engine.owner() == null || engine.expired()
                    ? "no owner"
                    : "owner " + Output.cut(engine.owner(), 60))
                + " (epoch "
                + engine.epoch()
                + ")";
    if (state.slots() == null) {
      return owner;
    }
    ReplicationSlot slot = slot(state, name);
    return owner
        + (slot == null
            ? ", slot absent"
            : ", slot "
                + (slot.active() ? "active" : "inactive")
                + ", retains "
                + CdcCommand.bytes(slot.retainedBytes())
                + " of WAL");
  }

  private static @Nullable ReplicationSlot slot(CdcState state, String name) {
    List<ReplicationSlot> slots = state.slots();
    return slots == null
        ? null
        : slots.stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
  }

  private static String heartbeat(Member m, Leases leases) {
    return m.heartbeatAt() == null
        ? "-"
        : Output.age(Duration.between(m.heartbeatAt(), leases.databaseNow())) + " ago";
  }

  private static @Nullable Long seconds(@Nullable Duration d) {
    return d == null ? null : d.toSeconds();
  }
}
