package dev.outboxkit.benchmarks.peers;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabase;
import dev.outboxkit.test.TestServers;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The namastack-outbox contender in this module's test JVM, where OutboxKit's Spring Boot starter
 * is on the classpath too (AppendBenchmark's Spring mode): its application must start with
 * namastack's auto-configuration alone and drain a backlog.
 */
@ServerTest
class NamastackContenderIntegrationTests {

  private final KafkaTestBroker kafka = TestServers.kafka();

  @Test
  void drainsABacklogWithOutboxKitsStarterOnTheClasspath() throws Exception {
    String topic = "namastack-" + UUID.randomUUID().toString().substring(0, 8);
    kafka.createTopic(topic, 8);
    try (TestDatabase db =
            TestServers.postgres().createDatabase("namastack_" + System.nanoTime() % 100_000);
        NamastackContender contender =
            new NamastackContender(db, kafka.bootstrapServers(), topic, 1024);
        ArrivalRecorder recorder = new ArrivalRecorder(kafka.bootstrapServers(), topic)) {
      contender.fill(20, 5, 10);
      contender.resume();

      assertThat(recorder.awaitArrivals(20, Duration.ofSeconds(60))).hasSize(20);
      contender.pause();
    }
  }
}
