package dev.outboxkit.outbox;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.outbox.internal.UuidV7Generator;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class UuidV7GeneratorTests {

  @Test
  void producesVersion7VariantRfcIdsCarryingTheTime() {
    Instant now = Instant.parse("2026-11-23T10:15:30.123Z");
    UUID id = new UuidV7Generator(Clock.fixed(now, ZoneOffset.UTC)).next();
    assertThat(id.version()).isEqualTo(7);
    assertThat(id.variant()).isEqualTo(2);
    assertThat(UuidV7Generator.millisOf(id)).isEqualTo(now.toEpochMilli());
  }

  @Test
  void idsIncreaseStrictlyWithinOneMillisecondEvenPastTheCounter() {
    UuidV7Generator generator =
        new UuidV7Generator(Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC));
    UUID previous = generator.next();
    Set<UUID> seen = new HashSet<>();
    for (int i = 0; i < 20_000; i++) { // more than the 4096 values of the counter
      UUID next = generator.next();
      assertThat(compareUnsigned(next, previous)).isPositive();
      assertThat(seen.add(next)).isTrue();
      previous = next;
    }
  }

  @Test
  void idsKeepIncreasingWhenTheClockStepsBack() {
    AtomicLong millis = new AtomicLong(1_000_000);
    Clock clock =
        new Clock() {
          @Override
          public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
          }

          @Override
          public Clock withZone(java.time.ZoneId zone) {
            return this;
          }

          @Override
          public Instant instant() {
            return Instant.ofEpochMilli(millis.get());
          }
        };
    UuidV7Generator generator = new UuidV7Generator(clock);
    UUID before = generator.next();
    millis.addAndGet(-5_000);
    UUID after = generator.next();
    assertThat(compareUnsigned(after, before)).isPositive();
  }

  private static int compareUnsigned(UUID a, UUID b) {
    int high = Long.compareUnsigned(a.getMostSignificantBits(), b.getMostSignificantBits());
    return high != 0
        ? high
        : Long.compareUnsigned(a.getLeastSignificantBits(), b.getLeastSignificantBits());
  }
}
