package dev.outboxkit.relay.app.cli;

import dev.outboxkit.relay.RelayInspection;
import dev.outboxkit.relay.RelayInspection.PartitionBacklog;
import dev.outboxkit.relay.RelayInspection.Pending;
import dev.outboxkit.relay.RelayInspection.PendingFilter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code pending} and {@code pending list}: the events waiting to be published, per partition and
 * one by one (oldest first, without payload or headers). Read only, through {@link
 * RelayInspection}.
 */
final class PendingCommands {

  private PendingCommands() {}

  @Command(
      name = "pending",
      description =
          "Pending events per partition: how many, how many failed at least once, the oldest,"
              + " the most attempts and the latest next attempt. 'pending list' lists them.")
  static final class Summary implements Callable<Integer> {
    private final CliContext cli;
    @Mixin CliContext.JsonOption json = new CliContext.JsonOption();

    Summary(CliContext cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      Output out = cli.output(json);
      RelayInspection inspection = cli.session().inspection();
      Instant now = inspection.backlog().databaseNow();
      List<PartitionBacklog> partitions = inspection.pendingByPartition();
      List<List<String>> rows = new ArrayList<>();
      List<Map<String, Object>> docs = new ArrayList<>();
      long total = 0;
      for (PartitionBacklog p : partitions) {
        total += p.pending();
        rows.add(
            List.of(
                String.valueOf(p.partition()),
                String.valueOf(p.pending()),
                String.valueOf(p.failing()),
                Output.age(age(p.oldest(), now)),
                String.valueOf(p.maxAttempts()),
                p.nextAttemptAt() == null ? "-" : p.nextAttemptAt().toString()));
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("partition", p.partition());
        doc.put("pending", p.pending());
        doc.put("failing", p.failing());
        doc.put("oldest", p.oldest() == null ? null : p.oldest().toString());
        doc.put("maxAttempts", p.maxAttempts());
        doc.put("nextAttemptAt", p.nextAttemptAt() == null ? null : p.nextAttemptAt().toString());
        docs.add(doc);
      }
      out.line("Database time    %s", now);
      out.line("Pending events   %d in %d partitions", total, partitions.size());
      out.line("");
      out.table(
          List.of("PARTITION", "PENDING", "FAILING", "OLDEST", "MAX ATTEMPTS", "NEXT ATTEMPT"),
          rows);
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("databaseTime", now.toString());
      doc.put("pending", total);
      doc.put("partitions", docs);
      out.document(doc);
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "list",
      description =
          "The oldest pending events that match, in append order, with their attempts and last"
              + " error (never the payload).")
  static final class ListCommand implements Callable<Integer> {
    private final CliContext cli;
    @Mixin CliContext.JsonOption json = new CliContext.JsonOption();

    @Option(names = "--partition", paramLabel = "N", description = "Only this outbox partition.")
    @Nullable Integer partition;

    @Option(names = "--type", paramLabel = "TYPE", description = "Only events of this event type.")
    @Nullable String type;

    @Option(
        names = "--aggregate-type",
        paramLabel = "TYPE",
        description = "Only events of this aggregate type.")
    @Nullable String aggregateType;

    @Option(names = "--failing", description = "Only events that failed at least once.")
    boolean failing;

    @Option(names = "--limit", defaultValue = "20", description = "At most this many (1-1000).")
    int limit;

    ListCommand(CliContext cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      if (limit < 1 || limit > 1000) {
        throw new IllegalArgumentException("--limit must be 1 to 1000 but was " + limit);
      }
      if (partition != null && partition < 0) {
        throw new IllegalArgumentException("--partition must be 0 or more but was " + partition);
      }
      Output out = cli.output(json);
      List<Pending> events =
          cli.session()
              .inspection()
              .pending(new PendingFilter(partition, type, aggregateType, failing), limit);
      List<List<String>> rows = new ArrayList<>();
      List<Map<String, Object>> docs = new ArrayList<>();
      for (Pending e : events) {
        rows.add(
            List.of(
                String.valueOf(e.seq()),
                e.id().toString(),
                String.valueOf(e.partition()),
                Output.cut(e.aggregateType(), 30),
                Output.cut(e.aggregateId(), 30),
                Output.cut(e.eventType(), 30),
                e.createdAt().toString(),
                String.valueOf(e.attempts()),
                e.nextAttemptAt() == null ? "-" : e.nextAttemptAt().toString(),
                Output.cut(e.lastError(), 80)));
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("seq", e.seq());
        doc.put("id", e.id().toString());
        doc.put("partition", e.partition());
        doc.put("aggregateType", e.aggregateType());
        doc.put("aggregateId", e.aggregateId());
        doc.put("eventType", e.eventType());
        doc.put("createdAt", e.createdAt().toString());
        doc.put("attempts", e.attempts());
        doc.put("nextAttemptAt", e.nextAttemptAt() == null ? null : e.nextAttemptAt().toString());
        doc.put("lastError", e.lastError());
        docs.add(doc);
      }
      out.table(
          List.of(
              "SEQ",
              "ID",
              "PARTITION",
              "AGGREGATE TYPE",
              "AGGREGATE ID",
              "TYPE",
              "CREATED",
              "ATTEMPTS",
              "NEXT ATTEMPT",
              "ERROR"),
          rows);
      if (events.size() == limit) {
        out.line("(first %d shown; --limit shows more)", limit);
      }
      out.document(Map.of("events", docs));
      return ExitCodes.OK;
    }
  }

  private static @Nullable Duration age(@Nullable Instant then, Instant now) {
    if (then == null) {
      return null;
    }
    Duration age = Duration.between(then, now);
    return age.isNegative() ? Duration.ZERO : age;
  }
}
