package dev.outboxkit.relay.app.cli;

import dev.outboxkit.relay.RelayInspection;
import dev.outboxkit.relay.RelayInspection.PartitionBacklog;
import dev.outboxkit.relay.RelayInspection.Pending;
import dev.outboxkit.relay.RelayInspection.PendingFilter;
import java.time.Duration;
import java.time.Instant;
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
      Listing listing = new Listing();
      long total = 0;
      for (PartitionBacklog p : partitions) {
        total += p.pending();
        Map<String, Object> doc =
            listing.add(
                List.of(
                    String.valueOf(p.partition()),
                    String.valueOf(p.pending()),
                    String.valueOf(p.failing()),
                    Output.age(age(p.oldest(), now)),
                    String.valueOf(p.maxAttempts()),
                    p.nextAttemptAt() == null ? "-" : p.nextAttemptAt().toString()));
        doc.put("partition", p.partition());
        doc.put("pending", p.pending());
        doc.put("failing", p.failing());
        doc.put("oldest", p.oldest() == null ? null : p.oldest().toString());
        doc.put("maxAttempts", p.maxAttempts());
        doc.put("nextAttemptAt", p.nextAttemptAt() == null ? null : p.nextAttemptAt().toString());
      }
      out.line("Database time    %s", now);
      out.line("Pending events   %d in %d partitions", total, partitions.size());
      out.line("");
      listing.table(
          out,
          List.of("PARTITION", "PENDING", "FAILING", "OLDEST", "MAX ATTEMPTS", "NEXT ATTEMPT"));
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("databaseTime", now.toString());
      doc.put("pending", total);
      doc.put("partitions", listing.docs());
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
    @Mixin EventTypeOptions types = new EventTypeOptions();
    @Mixin LimitOption limit = new LimitOption(20);

    @Option(names = "--partition", paramLabel = "N", description = "Only this outbox partition.")
    @Nullable Integer partition;

    @Option(names = "--failing", description = "Only events that failed at least once.")
    boolean failing;

    ListCommand(CliContext cli) {
      this.cli = cli;
    }

    @Override
    public Integer call() {
      int max = limit.value();
      if (partition != null && partition < 0) {
        throw new IllegalArgumentException("--partition must be 0 or more but was " + partition);
      }
      Output out = cli.output(json);
      List<Pending> events =
          cli.session()
              .inspection()
              .pending(new PendingFilter(partition, types.type, types.aggregateType, failing), max);
      Listing listing = new Listing();
      for (Pending e : events) {
        Map<String, Object> doc =
            listing.add(
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
      }
      listing.table(
          out,
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
              "ERROR"));
      if (events.size() == max) {
        out.line("(first %d shown; --limit shows more)", max);
      }
      out.document(Map.of("events", listing.docs()));
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
