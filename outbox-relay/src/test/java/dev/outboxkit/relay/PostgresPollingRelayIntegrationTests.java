package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.outboxkit.test.TestDatabaseExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class PostgresPollingRelayIntegrationTests extends PollingRelayContractTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  @Override
  TestDatabaseExtension database() {
    return db;
  }

  /**
   * Review suspicion: with the broker out of reach, each of the (up to 4, adaptive) publishing
   * threads' producers checked the dead-letter topic for up to 5 s at start-up, one after the
   * other, so {@code start()} took 20 s. The topic is the relay's, not a producer's: one check (at
   * most 5 s, then a warning) is enough.
   */
  @Test
  void startsWithinOneTopicCheckWhenTheBrokerIsDownAndADeadLetterTopicIsSet() {
    OutboxRelay relay =
        relay(b -> b.bootstrapServers("127.0.0.1:1").deadLetterTopic("dead-letters." + topic));
    long begun = System.nanoTime();
    relay.start();
    Duration took = Duration.ofNanos(System.nanoTime() - begun);

    assertThat(took).isLessThan(Duration.ofSeconds(12));
  }

  /**
   * The LISTEN connection comes from the relay's session data source, usually a pool. Before, it
   * went back to the pool still listening: every later NOTIFY of the outbox's trigger was queued
   * for that pooled session (in the driver's memory once it is used again, on the server while it
   * idles) and nobody read them. A relay that stops leaves its connections as it found them.
   */
  @Test
  void aStoppedRelayReturnsItsPooledConnectionsNotListening() throws Exception {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(db.jdbcUrl());
    config.setUsername(db.database().username());
    config.setPassword(db.database().password());
    config.setMaximumPoolSize(2);
    config.setPoolName("session-pool");
    try (HikariDataSource sessionPool = new HikariDataSource(config)) {
      OutboxRelay relay = relay(b -> b.sessionDataSource(sessionPool));
      relay.start();
      Awaitility.await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> sessionPool.getHikariPoolMXBean().getActiveConnections() >= 1);
      relay.close();
      Awaitility.await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> sessionPool.getHikariPoolMXBean().getActiveConnections() == 0);

      List<String> channels = new ArrayList<>();
      try (Connection first = sessionPool.getConnection();
          Connection second = sessionPool.getConnection()) {
        for (Connection c : List.of(first, second)) {
          try (Statement s = c.createStatement();
              ResultSet rs = s.executeQuery("SELECT pg_listening_channels()")) {
            while (rs.next()) {
              channels.add(rs.getString(1));
            }
          }
        }
      }
      assertThat(channels).as("channels the pooled sessions still listen on").isEmpty();
    }
  }
}
