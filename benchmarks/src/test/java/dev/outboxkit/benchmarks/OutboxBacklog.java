package dev.outboxkit.benchmarks;

import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The shared backlog of the drain contenders that read OutboxKit's {@code outbox_event} table: the
 * schema (with the relay's tables), and the pass's events appended with {@code appendAll} of 1,000
 * per transaction, then the database's {@link BenchDatabase#afterLoad} ({@code VACUUM ANALYZE} on
 * PostgreSQL; unless {@code -Dbench.vacuum=false}) so that every pass starts from a table without
 * the previous pass's dead rows.
 */
final class OutboxBacklog {

  private OutboxBacklog() {}

  static void load(DrainContender.Pass pass) throws Exception {
    OutboxDialect dialect = BenchTables.createOutboxAndRelayTables(pass.db().dataSource());
    try (Connection c = pass.db().dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.execute("TRUNCATE TABLE outbox_event"); // what a timed-out pass left behind (else: empty)
    }
    JdbcTransactions tx = JdbcTransactions.of(pass.db().dataSource());
    Outbox outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
    for (int from = 0; from < pass.events(); from += 1000) {
      List<OutboxMessage> messages = new ArrayList<>(1000);
      for (int i = from; i < Math.min(pass.events(), from + 1000); i++) {
        messages.add(
            OutboxMessage.of(pass.topic(), "key-" + i % pass.keys(), "Bench", pass.payload()));
      }
      tx.execute(c -> outbox.appendAll(messages));
    }
    if (Boolean.parseBoolean(System.getProperty("bench.vacuum", "true"))) {
      try (Connection c = pass.db().dataSource().getConnection()) {
        pass.database().afterLoad(c);
      }
    }
  }
}
