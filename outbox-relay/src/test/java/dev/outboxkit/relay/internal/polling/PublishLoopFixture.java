package dev.outboxkit.relay.internal.polling;

import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import dev.outboxkit.relay.internal.Jdbc;
import dev.outboxkit.relay.internal.OutboxRows;
import dev.outboxkit.relay.internal.PauseSwitch;
import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.RelayMetrics;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.relay.internal.delivery.DeliveryCore;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.core.IntervalFunction;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import javax.sql.DataSource;

/**
 * The real {@link PublishLoop} over a real database, for the tests that drive it step by step: the
 * relay's SQL on the default outbox table, one publishing thread, a retry an hour after a failure
 * (so a held key stays held for the test), and 32 events a read over the 16 leased partitions: the
 * 32 oldest in one walk, or 2 rows per partition in a read past held keys.
 */
final class PublishLoopFixture {

  private PublishLoopFixture() {}

  /**
   * The loop of one publishing thread over the partitions {@code leases} owns.
   *
   * @param name the circuit breaker's name
   */
  static PublishLoop loop(
      DataSource dataSource,
      OutboxDialect dialect,
      LeaseManager leases,
      KeyHolds holds,
      BatchSender sender,
      String name) {
    Clock clock = Clock.systemUTC();
    PollingStore store =
        new JdbcPollingStore(
            new Jdbc(dataSource),
            new OutboxRows(dialect, OutboxTable.DEFAULT),
            null,
            clock,
            n -> {});
    DeliveryCore core =
        new DeliveryCore(
            new DeliveryCore.Policy(10, IntervalFunction.of(Duration.ofHours(1)), null, clock),
            holds,
            CircuitBreaker.ofDefaults(name),
            new RelayMetrics(new SimpleMeterRegistry(), "outbox_event"),
            sender);
    return new PublishLoop(
        store,
        leases,
        core,
        sender,
        new WakeUpSignal(),
        () -> true,
        new PauseSwitch(),
        new PublishLoop.Pacing(32, Duration.ofMillis(10), Duration.ofSeconds(1)),
        0,
        1);
  }

  /**
   * Records every event it is handed, in order, and answers each at once as {@code answer} says.
   */
  static final class RecordingSender implements BatchSender {

    private final List<PendingEvent> handed;
    private final Function<PendingEvent, PublishResult> answer;

    RecordingSender(List<PendingEvent> handed, Function<PendingEvent, PublishResult> answer) {
      this.handed = handed;
      this.answer = answer;
    }

    @Override
    public InFlight send(List<PendingEvent> batch) {
      handed.addAll(batch);
      List<PublishResult> results = new ArrayList<>();
      for (PendingEvent e : batch) {
        results.add(answer.apply(e));
      }
      return new InFlight() {
        @Override
        public List<PendingEvent> batch() {
          return batch;
        }

        @Override
        public List<PublishResult> await() {
          return results;
        }
      };
    }

    @Override
    public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
      return false;
    }
  }
}
