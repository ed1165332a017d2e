package dev.outboxkit.relay.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.outboxkit.relay.AuditEntry;
import dev.outboxkit.relay.ParkedEvents;
import dev.outboxkit.test.TestDatabaseExtension;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * What a replay refused by a unique key tells the operator, on the databases whose message quotes
 * the key's values in its first line (MySQL, MariaDB, H2), one subclass per database: the key and
 * the SQLState, never the row's values. PostgreSQL keeps its values in a detail line and has its
 * own class ({@code PostgresParkedFailureIntegrationTests}).
 */
abstract class ParkedFailureContract {

  static final String CARD = "4111111111111111";

  abstract TestDatabaseExtension db();

  /** This database's statement that drops the index {@code parked_failure_key_status}. */
  abstract String dropTheKey();

  /** What the FAILED record's reason must name: the message's kind, the key, the SQL codes. */
  abstract List<String> namedInTheReason();

  /** What the exception the caller gets, with its causes, must name. */
  abstract List<String> namedInTheException();

  /**
   * A replay refused by a unique key (here one event per key and status, added by a team after the
   * event was parked). MySQL's and MariaDB's message has no detail lines to drop: its first line
   * itself quotes the key's values, "Duplicate entry 'card-4111111111111111-PENDING' for key ...",
   * and went as it was into the FAILED record, the audit log line and the exception. H2's first
   * line quotes them too ({@code Unique index or primary key violation: "PUBLIC.… ON
   * PUBLIC.OUTBOX_EVENT(AGGREGATEID …, STATUS …) VALUES (... 'card-4111…', 'PENDING' )"}), and
   * {@code H2RelaySql} kept the first line as it was.
   *
   * <p>Parked finding 2 on MySQL and MariaDB; review16 found the same on H2.
   */
  @Test
  void aRefusedReplayNamesTheKeyButNoValueOfTheRow() throws Exception {
    ParkedEventsFixture events = ParkedEventsFixture.on(db().dataSource());
    events.execute("DELETE FROM outbox_event");
    events.execute("DELETE FROM outbox_audit");
    UUID replayed = events.append("t", "card-" + CARD, "{}").id();
    events.parkAll();
    events.append("t", "card-" + CARD, "{}"); // pending, same key
    events.execute(
        "CREATE UNIQUE INDEX parked_failure_key_status ON outbox_event (aggregateid, status)");
    ParkedEvents parked = events.parked();
    Throwable thrown;
    try {
      thrown = catchThrowable(() -> parked.replay(List.of(replayed)));
    } finally {
      events.execute(dropTheKey());
    }
    AuditEntry failed = parked.auditTrail().list(10, null).get(0);
    String tag = "[parked-2 " + db().kind() + "] ";
    System.out.println(tag + "FAILED record's reason: " + failed.reason());
    System.out.println(tag + "thrown: " + thrown + " caused by " + thrown.getCause());
    assertThat(failed.outcome()).isEqualTo(AuditEntry.Outcome.FAILED);
    assertThat(failed.reason())
        .as("the FAILED record's reason")
        .contains(namedInTheReason())
        .doesNotContain(CARD);
    StringBuilder chain = new StringBuilder();
    for (Throwable t = thrown; t != null; t = t.getCause()) {
      chain.append(t).append(" | ");
    }
    assertThat(chain.toString())
        .as("the exception the caller gets, and its causes")
        .contains(namedInTheException())
        .doesNotContain(CARD);
  }
}
