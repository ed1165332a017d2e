package dev.outboxkit.relay.internal;

import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Pausing as a barrier: once {@link #pause} has returned, no publishing thread starts a send until
 * {@link #resume}. Sends hold the read lock while they check and hand a batch over (threads do not
 * wait for each other); {@code pause} takes the write lock, so it waits for a handover already
 * under way (at most the producer's {@code max.block.ms}). Shared by the polling relay's publishing
 * threads and the CDC engine's batch handler.
 */
public final class PauseSwitch {

  private final ReadWriteLock lock = new ReentrantReadWriteLock();
  private volatile boolean paused;

  public void pause() {
    lock.writeLock().lock();
    try {
      paused = true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  public void resume() {
    paused = false;
  }

  public boolean paused() {
    return paused;
  }

  /** Runs {@code send} unless paused; returns {@code null} when paused. */
  public <T> @Nullable T unlessPaused(Supplier<T> send) {
    lock.readLock().lock();
    try {
      return paused ? null : send.get();
    } finally {
      lock.readLock().unlock();
    }
  }
}
