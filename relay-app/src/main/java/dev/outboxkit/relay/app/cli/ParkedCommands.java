package dev.outboxkit.relay.app.cli;

import dev.outboxkit.relay.AuditEntry.Operation;
import dev.outboxkit.relay.BulkResult;
import dev.outboxkit.relay.ParkedEvent;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.relay.ParkedFilter;
import dev.outboxkit.relay.ParkedGroup;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code parked groups|list|replay|purge}: parked events grouped by failure, and replayed or purged
 * by group, filter or ids in bounded batches. Everything goes through {@link ParkedEvents} as the
 * CLI's operator ({@code --operator}), so each listing and each batch has its audit record, like a
 * call to the {@code outboxparked} endpoint.
 */
final class ParkedCommands {

  private ParkedCommands() {}

  @Command(name = "parked", description = "Parked events: groups, list, replay, purge.")
  static final class Parked implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      throw new ParameterException(
          spec.commandLine(), "Name a command: groups, list, replay or purge");
    }
  }

  @Command(
      name = "groups",
      description =
          "Parked events grouped by failure (exception class and message without ids, numbers,"
              + " offsets, hosts), largest first.")
  static final class Groups implements Callable<Integer> {
    private final CliContext cli;
    @Mixin CliContext.JsonOption json = new CliContext.JsonOption();
    @Mixin FilterOptions filter = new FilterOptions();

    Groups(CliContext cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      Output out = cli.output(json);
      List<ParkedGroup> groups = events(cli).groups(filter.filter(cli.session().clock()));
      printGroups(out, groups);
      out.document(Map.of("groups", groups.stream().map(ParkedCommands::doc).toList()));
      return ExitCodes.OK;
    }
  }

  @Command(name = "list", description = "The oldest parked events that match, in append order.")
  static final class ListCommand implements Callable<Integer> {
    private final CliContext cli;
    @Mixin CliContext.JsonOption json = new CliContext.JsonOption();
    @Mixin FilterOptions filter = new FilterOptions();
    @Mixin LimitOption limit = new LimitOption(50);

    ListCommand(CliContext cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      int max = limit.value();
      Output out = cli.output(json);
      List<ParkedEvent> events = events(cli).list(filter.filter(cli.session().clock()), max);
      Listing listing = new Listing();
      for (ParkedEvent e : events) {
        Map<String, Object> doc =
            listing.add(
                List.of(
                    String.valueOf(e.seq()),
                    e.id().toString(),
                    Output.cut(e.aggregateType(), 30),
                    Output.cut(e.aggregateId(), 30),
                    Output.cut(e.eventType(), 30),
                    String.valueOf(e.attempts()),
                    e.createdAt().toString(),
                    Output.cut(e.lastError(), 80)));
        doc.put("seq", e.seq());
        doc.put("id", e.id().toString());
        doc.put("aggregateType", e.aggregateType());
        doc.put("aggregateId", e.aggregateId());
        doc.put("eventType", e.eventType());
        doc.put("attempts", e.attempts());
        doc.put("createdAt", e.createdAt().toString());
        doc.put("lastError", e.lastError());
      }
      listing.table(
          out,
          List.of(
              "SEQ",
              "ID",
              "AGGREGATE TYPE",
              "AGGREGATE ID",
              "TYPE",
              "ATTEMPTS",
              "CREATED",
              "ERROR"));
      out.document(Map.of("events", listing.docs()));
      return ExitCodes.OK;
    }
  }

  /** What replay and purge share: selection, batches, dry run, confirmation. */
  abstract static class Change implements Callable<Integer> {
    private final CliContext cli;
    private final Operation operation;
    private final String verb;
    @Mixin CliContext.JsonOption json = new CliContext.JsonOption();
    @Mixin FilterOptions filter = new FilterOptions();

    @Option(
        names = "--all",
        description = "Every parked event (needed when no group, filter or id is given).")
    boolean all;

    @Option(
        names = "--batch-size",
        defaultValue = "500",
        description =
            "Events per transaction and audit record (1-10000), default ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--dry-run", description = "Show what would be done; change nothing.")
    boolean dryRun;

    @Option(names = "--yes", description = "Confirm the change (required unless --dry-run).")
    boolean yes;

    Change(CliContext cli, Operation operation, String verb) {
      this.cli = cli;
      this.operation = operation;
      this.verb = verb;
    }

    abstract BulkResult run(ParkedEvents events, ParkedFilter filter, Output out);

    @Override
    public Integer call() {
      if (batchSize < 1 || batchSize > 10_000) {
        throw new IllegalArgumentException("--batch-size must be 1 to 10000 but was " + batchSize);
      }
      Output out = cli.output(json);
      ParkedFilter selected = filter.filter(cli.session().clock());
      ParkedEvents events = events(cli);
      String target = selected.describe();
      if (selected.isAll() && !all) {
        return refuse(
            out, events, target, "nothing selected: name a --group, a filter or ids, or --all");
      }
      if (!selected.isAll() && all) {
        return refuse(out, events, target, "--all cannot be combined with a group, filter or ids");
      }
      if (dryRun) {
        List<ParkedGroup> groups = events.groups(selected);
        long total = groups.stream().mapToLong(ParkedGroup::count).sum();
        int perBatch =
            verb.equals("replay") ? Math.min(batchSize, ParkedEvents.MAX_REPLAY_BATCH) : batchSize;
        long batches = (total + perBatch - 1) / perBatch;
        out.line(
            "Dry run: would %s %d parked events (%s) in %d batches of at most %d; nothing changed.",
            verb, total, target, batches, perBatch);
        printGroups(out, groups);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("dryRun", true);
        doc.put("operation", verb);
        doc.put("filter", target);
        doc.put("matched", total);
        doc.put("batches", batches);
        doc.put("groups", groups.stream().map(ParkedCommands::doc).toList());
        out.document(doc);
        return ExitCodes.OK;
      }
      if (!yes) {
        return refuse(
            out,
            events,
            target,
            "confirmation required: add --yes (or --dry-run to see what would happen)");
      }
      BulkResult result = run(events, selected, out);
      out.line(
          "%s %d of %d matching parked events (%s) in %d batches.",
          verb.equals("replay") ? "Replayed" : "Purged",
          result.changed(),
          result.matched(),
          target,
          result.batches());
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("dryRun", false);
      doc.put("operation", verb);
      doc.put("filter", target);
      doc.put("matched", result.matched());
      doc.put("changed", result.changed());
      doc.put("batches", result.batches());
      out.document(doc);
      return ExitCodes.OK;
    }

    void progress(Output out, BulkResult r) {
      out.progress(
          "batch %d: %d matched, %d %s so far",
          r.batches(), r.matched(), r.changed(), verb.equals("replay") ? "replayed" : "purged");
    }

    private int refuse(Output out, ParkedEvents events, String target, String reason) {
      events.auditTrail().refused(cli.session().actor(), operation, target, "cli: " + reason);
      out.error("Refused: %s. Nothing changed.", reason);
      return ExitCodes.REFUSED;
    }
  }

  @Command(
      name = "replay",
      description =
          "Put matching parked events back in the queue, each at the end of its key's queue (never"
              + " before a later event of its key), in batches.")
  static final class Replay extends Change {
    Replay(CliContext cli) {
      super(cli, Operation.REPLAY, "replay");
    }

    @Override
    BulkResult run(ParkedEvents events, ParkedFilter filter, Output out) {
      return events.replay(filter, batchSize, r -> progress(out, r));
    }
  }

  @Command(name = "purge", description = "Delete matching parked events for good, in batches.")
  static final class Purge extends Change {
    Purge(CliContext cli) {
      super(cli, Operation.PURGE, "purge");
    }

    @Override
    BulkResult run(ParkedEvents events, ParkedFilter filter, Output out) {
      return events.purge(filter, batchSize, r -> progress(out, r));
    }
  }

  private static ParkedEvents events(CliContext cli) {
    return cli.session().inspection().parkedEvents().as(cli.session().actor());
  }

  private static void printGroups(Output out, List<ParkedGroup> groups) {
    List<List<String>> rows = new ArrayList<>();
    for (ParkedGroup g : groups) {
      rows.add(
          List.of(
              g.fingerprint().id(),
              String.valueOf(g.count()),
              g.firstSeen().toString(),
              g.lastSeen().toString(),
              Output.cut(String.join(",", g.aggregateTypes()), 30),
              Output.cut(String.join(",", g.eventTypes()), 30),
              Output.cut(g.fingerprint().toString(), 90)));
    }
    out.table(
        List.of("GROUP", "COUNT", "FIRST SEEN", "LAST SEEN", "AGGREGATE TYPES", "TYPES", "ERROR"),
        rows);
    for (ParkedGroup g : groups) {
      out.line(
          "  %s e.g. %s",
          g.fingerprint().id(),
          String.join(" ", g.exampleIds().stream().map(Object::toString).toList()));
    }
  }

  private static Map<String, Object> doc(ParkedGroup g) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("group", g.fingerprint().id());
    doc.put("exceptionClass", g.fingerprint().exceptionClass());
    doc.put("message", g.fingerprint().message());
    doc.put("count", g.count());
    doc.put("firstSeen", g.firstSeen().toString());
    doc.put("lastSeen", g.lastSeen().toString());
    doc.put("exampleIds", g.exampleIds().stream().map(Object::toString).toList());
    doc.put("aggregateTypes", g.aggregateTypes());
    doc.put("eventTypes", g.eventTypes());
    return doc;
  }
}
