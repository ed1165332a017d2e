package dev.outboxkit.samples.ledger;

import dev.outboxkit.idempotency.Inbox;
import dev.outboxkit.idempotency.kafka.KafkaInbox;
import io.micrometer.observation.ObservationRegistry;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Transactional;

/**
 * Books payment events. The inbox records each event id in the same transaction as its ledger
 * lines: a batch redelivered after a crash, or an event the relay sent twice, finds its id and is
 * skipped, so nothing is booked twice. Kafka offsets are committed after the transaction; if that
 * commit is lost the batch comes again and the inbox skips it.
 */
@Component
public class LedgerListener {

  private final KafkaInbox inbox;
  private final Ledger ledger;

  public LedgerListener(
      Inbox inbox, Ledger ledger, ObjectProvider<ObservationRegistry> observations) {
    // Observed when the application has an ObservationRegistry: each record's processing continues
    // the trace its traceparent header carries from the payment service's request.
    this.inbox =
        KafkaInbox.of(inbox, "ledger")
            .observed(observations.getIfUnique(() -> ObservationRegistry.NOOP));
    this.ledger = ledger;
  }

  // The consumer group is spring.kafka.consumer.group-id ("ledger" in ledger-service.properties):
  // with the default idIsGroup the listener id would be the group whatever that property says, and
  // two ledgers on one broker (the demo's two end-to-end tests) would share a group.
  @KafkaListener(id = "ledger", idIsGroup = false, topics = "${ledger.topic}")
  @Transactional
  public void on(List<ConsumerRecord<String, byte[]>> records) {
    inbox.processAll(records, ledger::book);
  }
}
