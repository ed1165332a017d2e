package dev.outboxkit.relay.app.cli;

import dev.outboxkit.relay.RelayInspection.CdcEngine;
import dev.outboxkit.relay.RelayInspection.CdcState;
import dev.outboxkit.relay.RelayInspection.ReplicationSlot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code cdc}: the CDC engine's lease, what its holder reported at its last renewal (state and
 * circuit breaker, judged as {@code status} judges a member row), the stored position, and the
 * server's replication slots with the WAL each retains. Read only; in polling mode only the slots
 * (one left by a former CDC relay shows here).
 */
@Command(
    name = "cdc",
    description =
        "The CDC engine's lease (owner, epoch, expiry), its holder's state and circuit breaker as"
            + " it reported them at its last renewal (STALE when that is old), the position"
            + " Debezium stored (binlog file and position, or LSN), and on PostgreSQL every"
            + " replication slot with the WAL it retains.")
final class CdcCommand implements Callable<Integer> {

  private final CliContext cli;
  @Mixin CliContext.JsonOption json = new CliContext.JsonOption();

  CdcCommand(CliContext cli) {
    this.cli = cli;
  }

  @Override
  public Integer call() {
    Output out = cli.output(json);
    CdcState state = cli.session().inspection().cdc(cli.session().cdcOptions());
    CdcEngine engine = state.engine();
    out.line("Database time    %s", state.databaseNow());
    if (engine == null) {
      out.line("CDC engine       %s", state.note());
    } else {
      out.line("CDC engine       %s", engine.name());
      out.line(
          "Owner            %s (epoch %d, %s)",
          engine.owner() == null ? "-" : Output.cut(engine.owner(), 60),
          engine.epoch(),
          leaseState(engine, state));
      MemberHealth health =
          MemberHealth.of(engine, state.databaseNow(), cli.session().heartbeatInterval());
      out.line(
          "Last heartbeat   %s%s",
          heartbeat(engine, state),
          engine.owner() == null && engine.heartbeatAt() != null ? " (lease given up)" : "");
      out.line("State            %s", health.state());
      out.line("Circuit          %s", health.circuit());
      out.line(
          "Offsets stored   %s",
          engine.updatedAt() == null
              ? "-"
              : Output.age(Duration.between(engine.updatedAt(), state.databaseNow())) + " ago");
      out.line("Position         %s", Output.cut(engine.position(), 200));
    }
    List<ReplicationSlot> slots = state.slots();
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("databaseTime", state.databaseNow().toString());
    doc.put("engineName", state.engineName());
    doc.put(
        "engine",
        engine == null
            ? null
            : engineDoc(
                engine,
                MemberHealth.of(engine, state.databaseNow(), cli.session().heartbeatInterval())));
    doc.put("note", state.note());
    if (slots != null) {
      out.line("");
      List<List<String>> rows = new ArrayList<>();
      List<Map<String, Object>> docs = new ArrayList<>();
      for (ReplicationSlot s : slots) {
        rows.add(
            List.of(
                Output.cut(s.name(), 64),
                Output.cut(s.plugin(), 20),
                Output.cut(s.database(), 30),
                s.active() ? "yes" : "no",
                s.activePid() == null ? "-" : String.valueOf(s.activePid()),
                Output.cut(s.restartLsn(), 20),
                Output.cut(s.confirmedFlushLsn(), 20),
                Output.cut(s.walStatus(), 12),
                bytes(s.retainedBytes())));
        docs.add(slotDoc(s));
      }
      out.table(
          List.of(
              "SLOT",
              "PLUGIN",
              "DATABASE",
              "ACTIVE",
              "PID",
              "RESTART LSN",
              "CONFIRMED LSN",
              "WAL STATUS",
              "RETAINED WAL"),
          rows);
      doc.put("slots", docs);
    }
    out.document(doc);
    return ExitCodes.OK;
  }

  private static String leaseState(CdcEngine engine, CdcState state) {
    if (engine.owner() == null) {
      return "free";
    }
    if (engine.expired() || engine.expiresAt() == null) {
      return "expired";
    }
    return "expires in " + Output.age(Duration.between(state.databaseNow(), engine.expiresAt()));
  }

  /** {@code 512 B}, {@code 14 kB}, {@code 3 MB}, {@code 2 GB}, as pg_size_pretty rounds. */
  static String bytes(@Nullable Long bytes) {
    if (bytes == null) {
      return "-";
    }
    String[] units = {"B", "kB", "MB", "GB", "TB"};
    double value = bytes;
    int unit = 0;
    while (value >= 10 * 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return Math.round(value) + " " + units[unit];
  }

  /** When the lease holder last renewed (or gave up) the lease, as an age; {@code -} if never. */
  static String heartbeat(CdcEngine engine, CdcState state) {
    return engine.heartbeatAt() == null
        ? "-"
        : Output.age(Duration.between(engine.heartbeatAt(), state.databaseNow())) + " ago";
  }

  private static Map<String, Object> engineDoc(CdcEngine e, MemberHealth health) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("name", e.name());
    doc.put("owner", e.owner());
    doc.put("epoch", e.epoch());
    doc.put("expiresAt", e.expiresAt() == null ? null : e.expiresAt().toString());
    doc.put("expired", e.expired());
    doc.put("updatedAt", e.updatedAt() == null ? null : e.updatedAt().toString());
    doc.put("position", e.position());
    doc.put("heartbeatAt", e.heartbeatAt() == null ? null : e.heartbeatAt().toString());
    health.addTo(doc);
    return doc;
  }

  private static Map<String, Object> slotDoc(ReplicationSlot s) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("name", s.name());
    doc.put("plugin", s.plugin());
    doc.put("database", s.database());
    doc.put("active", s.active());
    doc.put("activePid", s.activePid());
    doc.put("restartLsn", s.restartLsn());
    doc.put("confirmedFlushLsn", s.confirmedFlushLsn());
    doc.put("walStatus", s.walStatus());
    doc.put("retainedBytes", s.retainedBytes());
    return doc;
  }
}
