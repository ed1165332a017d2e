package dev.outboxkit.relay.internal.polling;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/** Ends the publishing thread's idle wait. Signals while it is busy collapse into one. */
final class WakeUpSignal {

  private final Semaphore permits = new Semaphore(0);

  void signal() {
    if (permits.availablePermits() == 0) {
      permits.release();
    }
  }

  /** Waits up to {@code timeout}; returns whether a signal ended the wait. */
  boolean await(Duration timeout) throws InterruptedException {
    boolean signalled = permits.tryAcquire(timeout.toNanos(), TimeUnit.NANOSECONDS);
    permits.drainPermits();
    return signalled;
  }
}
