package dev.outboxkit.spring.autoconfigure;

import dev.outboxkit.outbox.OutboxSchemaException;
import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Turns a failed schema check into Spring Boot's "what went wrong / what to do" start-up report.
 */
final class OutboxSchemaFailureAnalyzer extends AbstractFailureAnalyzer<OutboxSchemaException> {

  @Override
  protected FailureAnalysis analyze(Throwable rootFailure, OutboxSchemaException cause) {
    String what =
        cause.missingColumns().isEmpty()
            ? "The outbox table '" + cause.table() + "' does not exist."
            : "The outbox table '"
                + cause.table()
                + "' lacks column(s) "
                + cause.missingColumns()
                + ".";
    return new FailureAnalysis(
        what,
        "Apply OutboxKit's schema script with your migration tool (see docs/schema.md), or set"
            + " outbox.store.auto-create=true for development. If the table has another name, set"
            + " outbox.store.table-name. To skip this check, set outbox.store.validate-schema=false.",
        cause);
  }
}
