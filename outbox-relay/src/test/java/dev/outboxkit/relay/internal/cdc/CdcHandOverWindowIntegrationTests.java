package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.cdc.CdcBatchFixture.Committer;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.relay.internal.delivery.KeyHolds;
import dev.outboxkit.relay.internal.delivery.PublishResult;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import io.debezium.engine.RecordChangeEvent;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.apache.kafka.connect.source.SourceRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 19, finding 8 (CDC part): the send window is asked before each event is handed over, in CDC
 * as in polling. Before, the CDC batch handler checked the lease once per batch and handed the
 * whole batch over with {@code send(batch)}: a hand-over that outlived the lease (a full buffer, a
 * process paused in the middle of it) went on sending. Against a real PostgreSQL (lease and outbox
 * table); the lease is lost in the middle of the hand-over.
 */
@ServerTest
class CdcHandOverWindowIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private final List<Long> handedOver = new CopyOnWriteArrayList<>();
  private volatile boolean dieOnSend;
  private CircuitBreaker breaker;
  private CdcBatchFixture engine;
  private CdcLease lease;
  private CdcBatchHandler handler;

  @BeforeEach
  void setUp() throws Exception {
    engine = CdcBatchFixture.engine(db, "window");
    lease = engine.lease;
    BatchSender publisher = new LosingTheLeaseSender();
    // One trial call when half-open, so a trial permission lost for good shows at once.
    breaker =
        CircuitBreaker.of(
            "window",
            CircuitBreakerConfig.from(engine.settings.circuitBreaker())
                .permittedNumberOfCallsInHalfOpenState(1)
                .build());
    handler = engine.handler(new KeyHolds(), breaker, publisher);
  }

  @AfterEach
  void tearDown() {
    engine.close();
  }

  @Test
  void aLeaseLostInTheMiddleOfAHandOverStopsItBeforeTheNextEvent() {
    List<RecordChangeEvent<SourceRecord>> batch = List.of(insert(1, "k1"), insert(2, "k2"));
    Committer committer = new Committer();

    assertThatThrownBy(() -> handler.forRun(() -> true).handleBatch(batch, committer))
        .isInstanceOf(CdcBatchHandler.LeaseLost.class);

    assertThat(handedOver)
        .as("events handed to the producer; the lease was lost after the first")
        .containsExactly(1L);
    assertThat(committer.finished).as("a batch marked processed without its lease").isZero();
  }

  /**
   * Seen in a chaos run (PostgreSQL CDC, kill-relay-thread right after acl-refusal): a publishing
   * thread that dies of an {@code Error} in the middle of a hand-over (an OutOfMemoryError, the
   * kit's injected error) while the breaker was half-open kept the breaker's one trial permission:
   * the engine ended, the relay took the lease again later, and its new engine waited for a
   * permission forever (every partition stuck, the relay healthy). The permission must be given
   * back whatever ends the hand-over.
   */
  @Test
  void aHandOverEndedByAnErrorGivesTheBreakersTrialPermissionBack() {
    breaker.transitionToOpenState();
    breaker.transitionToHalfOpenState();
    dieOnSend = true;

    assertThatThrownBy(
            () -> handler.forRun(() -> true).handleBatch(List.of(insert(1, "k1")), new Committer()))
        .isInstanceOf(DiedInSend.class);

    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.HALF_OPEN);
    assertThat(breaker.tryAcquirePermission())
        .as("the half-open breaker's trial permission after the hand-over died")
        .isTrue();
  }

  /**
   * What a publishing thread dies of in {@link
   * #aHandOverEndedByAnErrorGivesTheBreakersTrialPermissionBack}.
   */
  private static final class DiedInSend extends Error {
    private static final long serialVersionUID = 1L;

    DiedInSend() {
      super("the publishing thread died in the middle of a hand-over");
    }
  }

  /**
   * Hands events over one by one, asking {@code mayHandOver} before each as the Kafka publisher
   * does; the lease is lost (as a pause in the middle of a hand-over would make it) once the first
   * event is handed over. Without a window to ask, every event is handed over.
   */
  private final class LosingTheLeaseSender implements BatchSender {
    @Override
    public InFlight send(List<PendingEvent> batch) {
      return send(batch, () -> true);
    }

    @Override
    public InFlight send(List<PendingEvent> batch, BooleanSupplier mayHandOver) {
      if (dieOnSend) {
        throw new DiedInSend();
      }
      List<PublishResult> results = new ArrayList<>();
      boolean open = true;
      for (PendingEvent event : batch) {
        open = open && mayHandOver.getAsBoolean();
        if (!open) {
          results.add(new PublishResult.Deferred(event));
          continue;
        }
        handedOver.add(event.seq());
        results.add(new PublishResult.Acked(event, Instant.now()));
        lease.drop();
      }
      return new CdcBatchFixture.Answered(batch, results);
    }

    @Override
    public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
      return false;
    }
  }

  private static RecordChangeEvent<SourceRecord> insert(long seq, String key) {
    SourceRecord record =
        CdcBatchFixture.paymentChange("c", seq, UUID.randomUUID(), key, "PENDING", 0, "{}");
    return () -> record;
  }
}
