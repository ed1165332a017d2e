package dev.outboxkit.outbox.internal;

import java.security.SecureRandom;
import java.time.Clock;
import java.util.UUID;

/**
 * Time-ordered UUIDv7 event ids (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter,
 * then 62 random bits.
 *
 * <p>Ids from one generator are strictly increasing, even within one millisecond and when the clock
 * steps back: the counter (seeded at random below 2048, method 1 of RFC 9562 section 6.2) carries
 * into the timestamp when it overflows, and a clock behind the last id is ignored until it catches
 * up. Ids from different generators order by time to the millisecond.
 */
public final class UuidV7Generator {

  private static final int COUNTER_BITS = 12;
  private static final int COUNTER_MAX = (1 << COUNTER_BITS) - 1;

  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private long lastMillis = -1;
  private int counter;

  public UuidV7Generator(Clock clock) {
    this.clock = clock;
  }

  public synchronized UUID next() {
    long now = clock.millis();
    if (now > lastMillis) {
      lastMillis = now;
      counter = random.nextInt(1 << (COUNTER_BITS - 1));
    } else if (counter < COUNTER_MAX) {
      counter++;
    } else {
      lastMillis++;
      counter = 0;
    }
    long high = (lastMillis << 16) | (0x7L << 12) | counter;
    long low = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
    return new UUID(high, low);
  }

  /** The Unix milliseconds stored in a UUIDv7. */
  public static long millisOf(UUID id) {
    if (id.version() != 7) {
      throw new IllegalArgumentException("Not a version 7 UUID: " + id);
    }
    return id.getMostSignificantBits() >>> 16;
  }
}
