package dev.outboxkit.relay.internal.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.spi.TopicRouter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * A dead-letter copy asked for after {@link DeadLetters#close} (a batch decided by a publishing
 * thread that outlived the relay's stop) must fail at once without starting a copying thread: a
 * thread started then is never stopped, since close() already ran.
 */
@Isolated
class DeadLettersAfterCloseTests {

  private static final String THREAD = "dlt-after-close-test-dead-letters";

  private static PendingEvent event() {
    return new PendingEvent(
        1,
        new OutboxEvent(
            UUID.randomUUID(),
            "Payment",
            "k",
            "Captured",
            "{}".getBytes(StandardCharsets.UTF_8),
            Map.of(),
            null,
            Instant.parse("2026-12-01T10:00:00Z"),
            0),
        1,
        null);
  }

  private static boolean copyingThreadAlive() {
    return Thread.getAllStackTraces().keySet().stream()
        .anyMatch(t -> t.isAlive() && THREAD.equals(t.getName()));
  }

  @Test
  void aCopyAfterCloseFailsWithoutLeavingACopyingThreadBehind() throws Exception {
    DeadLetters deadLetters =
        new DeadLetters(
            TopicRouter.prefixed("t."),
            new SharedProducer(
                Map.of(),
                config ->
                    new MockProducer<>(
                        true, null, new ByteArraySerializer(), new ByteArraySerializer())),
            THREAD);
    deadLetters.close(Duration.ofSeconds(1));

    CompletableFuture<Void> copy = deadLetters.copy(event(), "outbox.dlt", "bad");

    assertThat(copy).failsWithin(5, TimeUnit.SECONDS);
    assertThat(copyingThreadAlive())
        .as("a copying thread started after close() and never stopped")
        .isFalse();
  }
}
