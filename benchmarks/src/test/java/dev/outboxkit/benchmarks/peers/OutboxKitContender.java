package dev.outboxkit.benchmarks.peers;

import dev.outboxkit.benchmarks.BenchTables;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxMessage;
import dev.outboxkit.outbox.jdbc.JdbcTransactions;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.OutboxRelay;
import dev.outboxkit.relay.RelayConfig;
import dev.outboxkit.relay.RelayDefaults;
import dev.outboxkit.test.TestDatabase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * OutboxKit in polling mode with default settings: {@code appendAll} per transaction, and a relay
 * built with nothing but the data source and the broker (pausing closes it, resuming builds a new
 * one, as a restart after an outage would).
 */
final class OutboxKitContender implements Contender {

  private final TestDatabase db;
  private final String bootstrapServers;
  private final String topic;
  private final int payloadSize;
  private final JdbcTransactions tx;
  private final Outbox outbox;
  private OutboxRelay relay;

  OutboxKitContender(TestDatabase db, String bootstrapServers, String topic, int payloadSize)
      throws SQLException {
    this.db = db;
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
    this.payloadSize = payloadSize;
    this.tx = JdbcTransactions.of(db.dataSource());
    OutboxDialect dialect = BenchTables.createOutboxAndRelayTables(db.dataSource());
    this.outbox = Outbox.builder().connectionProvider(tx).dialect(dialect).build();
  }

  @Override
  public String name() {
    return "OutboxKit polling, defaults";
  }

  @Override
  public String topic() {
    return topic;
  }

  @Override
  public String settings() {
    return "OutboxRelay.builder() with data source and bootstrap servers only (batch "
        + RelayDefaults.BATCH_SIZE
        + ", "
        + RelayDefaults.PUBLISH_THREADS
        + " publish thread(s), LISTEN/NOTIFY wake-up); appendAll per transaction";
  }

  @Override
  public void fill(int events, int keys, int perTransaction) {
    byte[] payload =
        Payloads.of(System.currentTimeMillis(), payloadSize).getBytes(StandardCharsets.UTF_8);
    for (int from = 0; from < events; from += perTransaction) {
      List<OutboxMessage> messages = new ArrayList<>(perTransaction);
      for (int i = from; i < Math.min(events, from + perTransaction); i++) {
        messages.add(OutboxMessage.of(topic, "key-" + i % keys, "Bench", payload));
      }
      tx.execute(c -> outbox.appendAll(messages));
    }
  }

  @Override
  public void resume() {
    relay =
        OutboxRelay.builder()
            .dataSource(db.dataSource())
            .config(RelayConfig.custom().bootstrapServers(bootstrapServers).build())
            .meterRegistry(new SimpleMeterRegistry())
            .build();
    relay.start();
  }

  @Override
  public void pause() {
    if (relay != null) {
      relay.close();
      relay = null;
    }
  }

  @Override
  public void appendOne(String key, String payload) {
    OutboxMessage message =
        OutboxMessage.of(topic, key, "Bench", payload.getBytes(StandardCharsets.UTF_8));
    tx.execute(c -> outbox.append(message));
  }

  @Override
  public void close() {
    pause();
  }
}
