package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.outboxkit.relay.AuditEntry;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a refused replay tells the operator on PostgreSQL: enough to act on (the SQLState, the
 * constraint and the table), never the row's values, in the audit trail and in the exception.
 */
@ServerTest
class PostgresParkedFailureIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private static final String CARD = "4111111111111111";

  private ParkedEventsFixture events;
  private ParkedEvents parked;

  @BeforeEach
  void setUp() throws SQLException {
    events = ParkedEventsFixture.on(db.dataSource());
    events.execute("DELETE FROM outbox_event");
    events.execute("DELETE FROM outbox_audit");
    parked = events.parked();
  }

  /**
   * A replay whose copy the database refuses (here a CHECK constraint added NOT VALID after the
   * event was parked; any constraint or NOT NULL the copy breaks) fails with PostgreSQL's error,
   * and pgjdbc puts the server's DETAIL in the message: "Failing row contains (...)", every column
   * of the copy, payload and headers included. audited() writes e.getMessage() into the FAILED
   * record's reason (the audit table and the audit log) and the exception carries it to the caller
   * (an HTTP endpoint's error).
   *
   * <p>Review13 finding 3; before the fix it failed 3/3 runs with "[the FAILED record's reason]
   * Expecting actual: "PSQLException: ERROR: new row for relation "outbox_event" violates check
   * constraint ... Detail: Failing row contains (2, &lt;id&gt;, t, k, E, \x7b2263617264223a...227d,
   * {"outbox-appended-at": ...}, ...)" not to contain: "7b2263617264223a22343131...227d"". Now the
   * reason, the log line and the exception keep only the first line of each message.
   */
  @Test
  void aFailedReplayDoesNotCopyTheEventsPayloadIntoTheAuditTrail() throws Exception {
    String secret = "{\"card\":\"" + CARD + "\"}";
    UUID id = events.append(secret);
    events.parkAll();
    events.execute(
        "ALTER TABLE outbox_event ADD CONSTRAINT review13_refuse CHECK (status <> 'PENDING')"
            + " NOT VALID");
    Throwable thrown;
    try {
      thrown = catchThrowable(() -> parked.replay(List.of(id)));
    } finally {
      events.execute("ALTER TABLE outbox_event DROP CONSTRAINT review13_refuse");
    }
    String hex = HexFormat.of().formatHex(secret.getBytes(StandardCharsets.UTF_8));
    List<String> reasons = events.texts("SELECT reason FROM outbox_audit WHERE outcome = 'FAILED'");
    assertThat(reasons).as("a FAILED record").isNotEmpty();
    String reason = reasons.get(0);
    System.out.println("[review13] FAILED record's reason: " + reason);
    assertThat(thrown).as("the replay's failure").isNotNull();
    assertThat(reason).as("the FAILED record's reason").doesNotContain(hex);
    assertThat(reason).as("the FAILED record's reason").contains("review13_refuse");
    assertThat(thrown.getMessage()).as("the exception's message").doesNotContain(hex);
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      assertThat(String.valueOf(t))
          .as("the exception the caller gets, and its causes")
          .doesNotContain(hex);
      assertThat(t.getSuppressed()).as("suppressed by " + t).isEmpty();
    }
    assertThat(thrown.getCause()).isInstanceOf(SQLException.class);
    assertThat(((SQLException) thrown.getCause()).getSQLState())
        .as("the SQLState the caller can still tell the failure by")
        .isEqualTo("23514");
  }

  /**
   * Parked finding 2: a replay refused by a unique index (here one pending event per key, added by
   * a team after the event was parked). PostgreSQL's first line names the index but not the table,
   * nor the SQLState, and its DETAIL ("Key (aggregateid)=(card-4111...) already exists.") holds the
   * row's values: only the first line was kept, so the record said "duplicate key value violates
   * unique constraint" and no more. The record and the exception must carry the SQLState, the
   * constraint and the table (pgjdbc's server error fields), and still none of the values.
   *
   * <p>Before the fix it failed with "[the FAILED record's reason] Expecting actual:
   * "PSQLException: ERROR: duplicate key value violates unique constraint
   * "parked_failure_one_pending"" to contain: ["parked_failure_one_pending", "23505",
   * "outbox_event"] but could not find: ["23505", "outbox_event"]".
   */
  @Test
  void aRefusedReplayNamesTheSqlStateConstraintAndTableButNoValueOfTheRow() throws Exception {
    String payload = "{\"card\":\"" + CARD + "\"}";
    UUID replayed = append("card-" + CARD, payload);
    events.execute(
        "UPDATE outbox_event SET status = 'DEAD', last_error = 'parked' WHERE id = '"
            + replayed
            + "'");
    append("card-" + CARD, payload); // pending, same key
    events.execute(
        "CREATE UNIQUE INDEX parked_failure_one_pending ON outbox_event (aggregateid)"
            + " WHERE status = 'PENDING' AND aggregatetype = 'parked-failure'");
    Throwable thrown;
    try {
      thrown = catchThrowable(() -> parked.replay(List.of(replayed)));
    } finally {
      events.execute("DROP INDEX parked_failure_one_pending");
    }
    AuditEntry failed =
        parked.auditTrail().list(10, null).stream()
            .filter(e -> e.outcome() == AuditEntry.Outcome.FAILED)
            .findFirst()
            .orElseThrow();
    System.out.println("[parked-2] FAILED record's reason: " + failed.reason());
    System.out.println("[parked-2] thrown: " + thrown + " caused by " + thrown.getCause());
    String hex = HexFormat.of().formatHex(payload.getBytes(StandardCharsets.UTF_8));
    assertThat(failed.reason())
        .as("the FAILED record's reason")
        .contains("parked_failure_one_pending", "23505", "outbox_event")
        .doesNotContain(CARD, hex);
    StringBuilder chain = new StringBuilder();
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      chain.append(t).append(" | ");
      assertThat(t.getSuppressed()).as("suppressed by " + t).isEmpty();
    }
    assertThat(chain.toString())
        .as("the exception the caller gets, and its causes")
        .contains("parked_failure_one_pending", "23505", "outbox_event")
        .doesNotContain(CARD, hex);
    assertThat(((SQLException) thrown.getCause()).getSQLState()).isEqualTo("23505");
  }

  private UUID append(String key, String payload) throws Exception {
    return events.append("parked-failure", key, payload).id();
  }
}
