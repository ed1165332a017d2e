package dev.outboxkit.benchmarks;

import dev.outboxkit.benchmarks.peers.Producers;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.sql.DataSource;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * The simplest relay that is still correct for one instance, as the limit to measure OutboxKit
 * against: in one transaction, delete up to {@value #BATCH} of the oldest pending rows with {@code
 * RETURNING} (the statement is per database, {@link BenchDatabase#handRolledDrain}), send them all
 * asynchronously with a plain idempotent producer (the relay's producer settings), wait for every
 * acknowledgement, commit. A failed send rolls the transaction back (the rows come back). No
 * leases, retries, key holds, byte budget or metrics.
 */
final class HandRolledRelay implements Runnable, AutoCloseable {

  static final int BATCH = 2000;

  private final DataSource dataSource;
  private final String drain;
  private final String bootstrapServers;
  private KafkaProducer<byte[], byte[]> producer;
  private final AtomicBoolean running = new AtomicBoolean(true);
  private final Thread thread;

  HandRolledRelay(DataSource dataSource, String drain, String bootstrapServers) {
    this.dataSource = dataSource;
    this.drain = drain;
    this.bootstrapServers = bootstrapServers;
    this.producer = Producers.withByteKeys(bootstrapServers);
    this.thread = new Thread(this, "hand-rolled-relay");
  }

  void start() {
    thread.start();
  }

  @Override
  public void run() {
    try (Connection c = dataSource.getConnection()) {
      c.setAutoCommit(false);
      while (running.get()) {
        try {
          if (drainOnce(c) == 0) {
            Thread.sleep(10);
          }
        } catch (ExecutionException e) {
          // The batch was rolled back (its rows come back). A failed idempotent producer (the
          // in-JVM broker's OutOfOrderSequenceException under load) stays failed: a new one.
          System.err.println("hand-rolled relay: a send failed, the batch goes again: " + e);
          producer.close();
          producer = Producers.withByteKeys(bootstrapServers);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (SQLException | RuntimeException e) {
      if (running.get()) {
        throw new IllegalStateException("hand-rolled relay failed", e);
      }
    }
  }

  private int drainOnce(Connection c)
      throws SQLException, InterruptedException, ExecutionException {
    List<Future<RecordMetadata>> acks = new ArrayList<>(BATCH);
    try (PreparedStatement s = c.prepareStatement(drain);
        ResultSet rs = s.executeQuery()) {
      while (rs.next()) {
        ProducerRecord<byte[], byte[]> record =
            new ProducerRecord<>(
                rs.getString("aggregatetype"),
                rs.getString("aggregateid").getBytes(StandardCharsets.UTF_8),
                rs.getBytes("payload"));
        record
            .headers()
            .add("outbox-event-id", rs.getString("id").getBytes(StandardCharsets.UTF_8));
        record
            .headers()
            .add("outbox-event-type", rs.getString("type").getBytes(StandardCharsets.UTF_8));
        record
            .headers()
            .add(
                "outbox-aggregate-type",
                rs.getString("aggregatetype").getBytes(StandardCharsets.UTF_8));
        acks.add(producer.send(record));
      }
    }
    try {
      for (Future<RecordMetadata> ack : acks) {
        ack.get();
      }
    } catch (ExecutionException e) {
      c.rollback();
      throw e;
    }
    c.commit();
    return acks.size();
  }

  @Override
  public void close() throws InterruptedException {
    running.set(false);
    thread.join(30_000);
    producer.close();
  }
}
