package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.TestDatabaseExtension;
import java.time.Duration;
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
}
