package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxSchema;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.cdc.CdcSchema;
import dev.outboxkit.test.ConcurrentStarts;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.util.List;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Relay instances that start at the same time (the replicas of a deployment, a rolling restart)
 * each create their tables ({@code outbox.relay.auto-create}): every one must start, as "safe to
 * run at every start" promises. Found by review on PostgreSQL: on an existing schema "tuple
 * concurrently updated" (the NOTIFY function replaced at every start), on a first start {@code
 * CREATE TABLE IF NOT EXISTS} failing on the catalog's unique index, and "trigger ... already
 * exists". One subclass per database.
 */
@ServerTest
abstract class AutoCreateRaceContractTests {

  private static final int INSTANCES = 6;
  private static final int ROUNDS = 10;

  private OutboxDialect dialect;

  abstract TestDatabaseExtension database();

  @BeforeEach
  void createDefaultTables() throws Exception {
    dialect = RelayTables.create(database().dataSource());
  }

  /** Instances starting together on a schema that exists (a rolling restart). */
  @Test
  void instancesStartingTogetherOnAnExistingSchemaAllStart() throws Exception {
    List<String> failures =
        startTogether(
            (c, round) -> {
              OutboxSchema.create(c, dialect, OutboxTable.DEFAULT);
              RelaySchema.create(
                  c,
                  dialect,
                  OutboxTable.DEFAULT,
                  OutboxTable.of(RelayDefaults.LEASE_TABLE),
                  OutboxTable.of(RelayDefaults.MEMBER_TABLE));
            });
    assertThat(failures).as("start-ups that failed").isEmpty();
  }

  /** Instances starting together on an empty database (a first start): outbox and relay tables. */
  @Test
  void instancesStartingTogetherForTheFirstTimeAllStart() throws Exception {
    List<String> failures =
        startTogether(
            (c, round) -> {
              OutboxTable outbox = OutboxTable.of("race_outbox_" + round);
              OutboxSchema.create(c, dialect, outbox);
              RelaySchema.create(
                  c,
                  dialect,
                  outbox,
                  OutboxTable.of("race_lease_" + round),
                  OutboxTable.of("race_member_" + round));
            });
    assertThat(failures).as("start-ups that failed").isEmpty();
  }

  /** CDC relays starting together for the first time: the state table (and the audit table). */
  @Test
  void cdcInstancesStartingTogetherForTheFirstTimeAllStart() throws Exception {
    List<String> failures =
        startTogether(
            (c, round) -> CdcSchema.create(c, dialect, OutboxTable.of("race_cdc_state_" + round)));
    assertThat(failures).as("start-ups that failed").isEmpty();
  }

  /** One instance's start on its own auto-commit connection, as the relay's start-up does it. */
  interface Start {
    void run(Connection connection, int round) throws Exception;
  }

  private List<String> startTogether(Start start) throws Exception {
    DataSource ds = database().dataSource();
    return ConcurrentStarts.race(
        INSTANCES,
        ROUNDS,
        round -> {
          try (Connection c = ds.getConnection()) {
            c.setAutoCommit(true);
            start.run(c, round);
          }
        });
  }
}
