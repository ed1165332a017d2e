package dev.outboxkit.relay.internal.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.outboxkit.relay.internal.PendingEvent;
import dev.outboxkit.relay.internal.cdc.CdcBatchFixture.Committer;
import dev.outboxkit.relay.internal.delivery.BatchSender;
import dev.outboxkit.test.ServerTest;
import dev.outboxkit.test.TestDatabaseExtension;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 19, finding 9: the batch handler's gate belongs to one engine run. Before, it asked whether
 * the relay's current engine was live, so a batch of a stopped run passed once a new run started
 * here. Against a real PostgreSQL (lease and outbox table), with the lease held throughout.
 */
@ServerTest
class CdcBatchHandlerIntegrationTests {

  @RegisterExtension static final TestDatabaseExtension db = TestDatabaseExtension.postgres();

  private final AtomicInteger sends = new AtomicInteger();
  private CdcBatchFixture engine;
  private CdcLease lease;
  private CdcBatchHandler handler;

  @BeforeEach
  void setUp() throws Exception {
    engine = CdcBatchFixture.engine(db, "gate");
    lease = engine.lease;
    BatchSender publisher =
        new BatchSender() {
          @Override
          public InFlight send(List<PendingEvent> batch) {
            sends.incrementAndGet();
            throw new IllegalStateException("no send expected in this test");
          }

          @Override
          public boolean sendDeadLetter(PendingEvent event, String topic, String error) {
            return false;
          }
        };
    handler = engine.handler(publisher);
  }

  @AfterEach
  void tearDown() {
    engine.close();
  }

  @Test
  void aBatchOfAStoppedRunIsNeverMarkedProcessedWhileTheLeaseIsHeldByTheNextRun() throws Exception {
    AtomicBoolean firstRunLive = new AtomicBoolean(true);
    var firstRun = handler.forRun(firstRunLive::get);
    Committer committed = new Committer();
    firstRun.handleBatch(List.of(), committed);
    assertThat(committed.finished).as("a batch of the live run").isEqualTo(1);

    // The first run is stopped and a second one started here: same handler, same lease.
    firstRunLive.set(false);
    AtomicBoolean secondRunLive = new AtomicBoolean(true);
    var secondRun = handler.forRun(secondRunLive::get);
    assertThat(lease.validByTtl()).isTrue();

    Committer late = new Committer();
    assertThatThrownBy(() -> firstRun.handleBatch(List.of(), late))
        .isInstanceOf(CdcBatchHandler.LeaseLost.class);
    assertThat(late.finished).as("a batch of the stopped run, stored").isZero();

    Committer current = new Committer();
    secondRun.handleBatch(List.of(), current);
    assertThat(current.finished).as("a batch of the current run").isEqualTo(1);
    assertThat(sends).hasValue(0);
  }
}
