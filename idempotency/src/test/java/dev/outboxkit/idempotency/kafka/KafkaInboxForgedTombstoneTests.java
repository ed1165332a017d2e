package dev.outboxkit.idempotency.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.PayloadIntegrityException;
import dev.outboxkit.outbox.spi.PayloadCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

/**
 * Review finding: with payload encryption on, {@link KafkaInbox#processDecoded} took a record with
 * a null value (a tombstone) as it came: tombstones carry no ciphertext, so nothing was checked,
 * and the id in its {@value OutboxHeaders#EVENT_ID} header was claimed. Anyone able to write to the
 * topic could send a tombstone with the id of a genuine event; the genuine record was then skipped
 * as a duplicate, an event lost without a trace. A consumer that expects ciphertext cannot
 * authenticate a tombstone, so it refuses it like any record that fails its check: {@link
 * PayloadIntegrityException}, no id claimed, no handler run, the record left for the container to
 * park.
 */
class KafkaInboxForgedTombstoneTests {

  private final List<String> claimed = new ArrayList<>();
  private final Inbox inbox =
      (consumer, messageId, handler) -> {
        claimed.add(messageId);
        handler.run();
        return true;
      };

  /** Decodes nothing: a tombstone never reaches the codec. */
  private final PayloadCodec codec =
      new PayloadCodec() {
        @Override
        public Encoded encode(Context context, byte[] payload) {
          throw new IllegalStateException("not used");
        }

        @Override
        public byte[] decode(Context context, Map<String, String> headers, byte[] payload) {
          throw new IllegalStateException("not used");
        }
      };

  @Test
  void aTombstoneIsRefusedWithoutClaimingItsIdWhenPayloadsAreEncrypted() {
    UUID genuine = UUID.randomUUID();
    ConsumerRecord<String, byte[]> forged =
        new ConsumerRecord<>("payment-events", 0, 42L, "order-1", null);
    forged
        .headers()
        .add(OutboxHeaders.EVENT_ID, genuine.toString().getBytes(StandardCharsets.UTF_8));
    List<ConsumerRecord<String, byte[]>> handled = new ArrayList<>();

    assertThatThrownBy(
            () -> KafkaInbox.of(inbox, "ledger").processDecoded(codec, forged, handled::add))
        .isInstanceOf(PayloadIntegrityException.class)
        .hasMessageContaining("payment-events-0@42")
        .hasMessageContaining("tombstone");
    assertThat(claimed).as("ids claimed in the inbox").isEmpty();
    assertThat(handled).as("records handed to the handler").isEmpty();
  }
}
