package dev.outboxkit.relay.internal.polling;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** With transactional fencing a batch reads more, so each Kafka transaction carries more events. */
class FencedBatchTests {

  @Test
  void aFencedBatchReadsFourTimesTheBatchSize() {
    assertThat(PollingRelay.batchEvents(500, true)).isEqualTo(2_000);
    assertThat(PollingRelay.batchEvents(1, true)).isEqualTo(4);
  }

  @Test
  void aFencedBatchStaysWithinTheLargestBatch() {
    assertThat(PollingRelay.batchEvents(5_000, true)).isEqualTo(10_000);
  }

  @Test
  void withoutFencingTheBatchIsTheBatchSize() {
    assertThat(PollingRelay.batchEvents(500, false)).isEqualTo(500);
    assertThat(PollingRelay.batchEvents(10_000, false)).isEqualTo(10_000);
  }
}
