package dev.outboxkit.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.idempotency.IdempotencyPurger;
import dev.outboxkit.outbox.OutboxTable;
import dev.outboxkit.outbox.spi.OutboxDialect;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Review finding: an {@link Error} thrown in a purge (a driver class missing at run time, a stack
 * overflow in a driver) ended the purge schedule in silence, the pattern {@code
 * ParkedRetentionErrorTests} fixed for parked retention. {@code IdempotencyPurgeScheduler.purge}
 * caught only {@link RuntimeException} and {@code IdempotencyPurger} counted only {@code
 * OutboxStoreException}: the Error reached the executor, which cancels the periodic task, and the
 * {@code IdempotencyPurgeFailing} alert never fired. The Error need not be swallowed, but the end
 * must be seen: counted in {@code idempotency.purge.failures} and logged.
 */
class IdempotencyPurgeSchedulerErrorTests {

  @Test
  void anErrorThatEndsAPurgeIsCountedAsAFailure() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AtomicInteger asked = new AtomicInteger();
    DataSource failing =
        (DataSource)
            Proxy.newProxyInstance(
                getClass().getClassLoader(),
                new Class<?>[] {DataSource.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("getConnection")) {
                    asked.incrementAndGet();
                    throw new NoClassDefFoundError("org/example/MissingDriverClass");
                  }
                  throw new UnsupportedOperationException(method.getName());
                });
    IdempotencyPurger purger =
        new IdempotencyPurger(
            failing,
            OutboxDialect.postgresql(),
            OutboxTable.of("idempotency_key"),
            OutboxTable.of("inbox_message"),
            10,
            1,
            Clock.systemUTC(),
            registry);
    IdempotencyPurgeScheduler scheduler =
        new IdempotencyPurgeScheduler(purger, Duration.ofMillis(100));
    try {
      scheduler.start();
      Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> asked.get() >= 1);
      Awaitility.await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () ->
                  assertThat(
                          registry
                              .get("idempotency.purge.failures")
                              .tag("table", "idempotency_key")
                              .counter()
                              .count())
                      .as("purge failures after a purge that ended with an Error")
                      .isEqualTo(1.0));
    } finally {
      scheduler.stop();
    }
  }
}
