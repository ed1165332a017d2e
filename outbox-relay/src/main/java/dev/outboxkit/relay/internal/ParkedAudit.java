package dev.outboxkit.relay.internal;

import dev.outboxkit.outbox.OutboxStoreException;
import dev.outboxkit.relay.AuditActor;
import dev.outboxkit.relay.AuditEntry;
import dev.outboxkit.relay.AuditEntry.Operation;
import dev.outboxkit.relay.internal.dialect.RelaySql;
import java.sql.SQLException;
import java.util.Locale;
import java.util.Objects;

/**
 * The audit records of one actor's operations on parked events. A change runs in one transaction
 * with its {@code OK} record ({@link #audited}); a read that a change depends on runs alone ({@link
 * #read}). Whichever fails, a {@code FAILED} record is written in a transaction of its own and the
 * failure thrown, sanitised ({@link DatabaseFailures}): no operator action fails without a trace,
 * and no row's values reach the trail, a log or the caller.
 */
final class ParkedAudit {

  private final Jdbc jdbc;
  private final JdbcAuditTrail trail;
  private final AuditActor actor;
  private final RelaySql sql;
  private final String t;

  ParkedAudit(Jdbc jdbc, JdbcAuditTrail trail, AuditActor actor, RelaySql sql, String t) {
    this.jdbc = jdbc;
    this.trail = trail;
    this.actor = actor;
    this.sql = sql;
    this.t = t;
  }

  ParkedAudit as(AuditActor actor) {
    return new ParkedAudit(jdbc, trail, Objects.requireNonNull(actor, "actor"), sql, t);
  }

  JdbcAuditTrail trail() {
    return trail;
  }

  /** What a change did: how many events, and the target as recorded. */
  record Done(int count, String target) {}

  /**
   * Runs {@code change} and writes its audit record in the same transaction; logs the record after
   * the commit. On failure: a FAILED record naming {@code requested}, then the failure.
   */
  Done audited(Operation operation, String requested, Jdbc.Work<Done> change) {
    AuditEntry[] written = new AuditEntry[1];
    Done done;
    try {
      done =
          jdbc.inTransaction(
              c -> {
                Done d = change.apply(c);
                written[0] =
                    trail.entry(
                        actor, operation, d.target(), d.count(), AuditEntry.Outcome.OK, null);
                trail.record(c, written[0]);
                return d;
              });
    } catch (SQLException | RuntimeException e) {
      throw failed(operation, requested, e);
    }
    JdbcAuditTrail.log(written[0]);
    return done;
  }

  /**
   * Runs a read that {@code operation} depends on (the ids' order, a filter's scan) in auto-commit
   * mode. On failure: a FAILED record naming {@code target}, then the failure.
   */
  <T> T read(Operation operation, String target, Jdbc.Work<T> read) {
    try {
      return jdbc.autoCommit(read);
    } catch (SQLException | RuntimeException e) {
      throw failed(operation, target, e);
    }
  }

  /**
   * Writes the FAILED record of {@code e} in a transaction of its own and returns what to throw: a
   * failure that is not the database's as it is (the caller's own, or a defect here, with its stack
   * trace), the database's sanitised. A record the table refuses too is still logged, and its
   * failure attached as suppressed.
   */
  RuntimeException failed(Operation operation, String target, Exception e) {
    // Only the first line of each message: pgjdbc appends the server's DETAIL, which for a
    // refused copy lists every column of the row, payload and headers (review13 finding 3).
    AuditEntry failed =
        trail.entry(
            actor,
            operation,
            target,
            0,
            AuditEntry.Outcome.FAILED,
            DatabaseFailures.reason(e, sql));
    RuntimeException recordingFailure = null;
    try {
      trail.recordAlone(failed);
    } catch (RuntimeException recording) {
      recordingFailure = recording;
    }
    SQLException database = DatabaseFailures.sqlCause(e);
    RuntimeException thrown;
    if (database == null && e instanceof RuntimeException runtime) {
      thrown = runtime;
    } else {
      thrown =
          new OutboxStoreException(
              "Could not " + operation.name().toLowerCase(Locale.ROOT) + " parked events in " + t,
              DatabaseFailures.sanitized(Objects.requireNonNull(database), sql));
    }
    if (recordingFailure != null) {
      thrown.addSuppressed(recordingFailure);
    }
    return thrown;
  }

  /**
   * The failure of a bulk change after some of its batches committed: says what was done, keeps the
   * database's failure (sanitised) as the cause.
   */
  OutboxStoreException partial(String done, RuntimeException e) {
    SQLException database = DatabaseFailures.sqlCause(e);
    SQLException cause =
        database != null
            ? DatabaseFailures.sanitized(database, sql)
            : new SQLException(DatabaseFailures.reason(e, sql));
    return new OutboxStoreException(done, cause);
  }
}
