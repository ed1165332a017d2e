package dev.outboxkit.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.test.KafkaTestBroker;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestServers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * The test reader itself: it must not assign whatever {@code partitionsFor} answers first. For a
 * topic the broker does not know yet that answer is an empty list, and a reader that assigned it
 * failed its first poll with "Consumer is not subscribed to any topics or assigned any partitions"
 * (seen at random in CI, right after topic creation).
 */
@ServerTest
class KafkaReaderIntegrationTests {

  private static final KafkaTestBroker kafka = TestServers.kafka();

  @Test
  void aReaderOpenedBeforeItsTopicIsKnownWaitsForThePartitions() throws Exception {
    String topic = "late-" + UUID.randomUUID();
    CompletableFuture<Void> created =
        CompletableFuture.runAsync(
            () -> {
              pause(Duration.ofSeconds(1)); // the reader asks first
              kafka.createTopic(topic, 3);
              try (KafkaProducer<String, String> producer =
                  new KafkaProducer<>(
                      Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                      new StringSerializer(),
                      new StringSerializer())) {
                for (int partition = 0; partition < 3; partition++) {
                  producer.send(new ProducerRecord<>(topic, partition, "k", "v" + partition));
                }
              }
            });
    try (KafkaReader reader = new KafkaReader(kafka.bootstrapServers(), topic)) {
      assertThat(reader.readAtLeast(3, Duration.ofSeconds(30)))
          .extracting(r -> new String(r.value(), StandardCharsets.UTF_8))
          .containsExactlyInAnyOrder("v0", "v1", "v2");
    }
    created.get(30, TimeUnit.SECONDS);
  }

  private static void pause(Duration pause) {
    try {
      Thread.sleep(pause.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
