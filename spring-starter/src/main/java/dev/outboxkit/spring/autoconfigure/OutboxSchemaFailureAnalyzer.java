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
            ? "The table '" + cause.table() + "' does not exist."
            : "The table '" + cause.table() + "' lacks column(s) " + cause.missingColumns() + ".";
    return new FailureAnalysis(
        what,
        "Apply OutboxKit's schema scripts with your migration tool (see docs/schema.md and"
            + " docs/idempotency.md), or for development set outbox.store.auto-create=true and"
            + " outbox.idempotency.auto-create=true. If the table has another name, set"
            + " outbox.store.table-name (or outbox.idempotency.key-table / inbox-table). To skip this"
            + " check, set outbox.store.validate-schema=false (or outbox.idempotency.validate-schema)."
            + " If you do not use idempotency keys or the inbox, set"
            + " outbox.idempotency.enabled=false.",
        cause);
  }
}
