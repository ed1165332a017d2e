package dev.outboxkit.idempotency.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.idempotency.Idempotency;
import dev.outboxkit.idempotency.IdempotencyKey;
import dev.outboxkit.idempotency.IdempotencyOutcome;
import java.util.AbstractCollection;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.mock.web.MockHttpServletResponse;

/**
 * Review finding: with a rotated fingerprint key, the HMAC under every previous key was computed on
 * every keyed request, although the earlier fingerprints are only needed when a stored fingerprint
 * does not match the current one. They are computed lazily now, with the same outcomes.
 */
class FingerprintRingLazinessTests {

  private static final String KEY_A = "key-a-of-at-least-thirty-two-bytes-0001";
  private static final String KEY_B = "key-b-of-at-least-thirty-two-bytes-0002";
  private static final String KEY_C = "key-c-of-at-least-thirty-two-bytes-0003";
  private static final String BODY = "{\"amountMinor\":100}";

  private final FilterHarness harness = new FilterHarness();

  FingerprintRingLazinessTests() throws Exception {}

  @Test
  void theEarlierFingerprintsAreComputedOnlyWhenAsked() {
    RequestFingerprinting ring =
        RequestFingerprinting.hmacSha256(KEY_C).withPreviousTextKeys(List.of(KEY_B, KEY_A));
    AtomicInteger computed = new AtomicInteger();

    Collection<String> earlier =
        RequestFingerprints.underPreviousKeys(
            ring,
            previous -> {
              computed.incrementAndGet();
              return previous.toString() + "#" + computed.get();
            });

    assertThat(computed).as("HMACs computed before anything asked for them").hasValue(0);
    assertThat(earlier).hasSize(2);
    assertThat(computed).as("the size needs no HMAC").hasValue(0);
    assertThat(earlier.contains("a stored fingerprint")).isFalse();
    assertThat(computed).hasValue(2);
    assertThat(earlier).containsExactly(earlier.toArray(String[]::new));
    assertThat(computed).as("computed once, then kept").hasValue(2);
  }

  @Test
  void theFilterComparesEarlierFingerprintsOnlyWhenTheStoredOneIsNotTheCurrentOne()
      throws Exception {
    CountingIdempotency counting = new CountingIdempotency(harness.idempotency);
    IdempotencyFilter before = filter(harness.idempotency, RequestFingerprinting.hmacSha256(KEY_A));
    IdempotencyFilter rotated =
        filter(
            counting, RequestFingerprinting.hmacSha256(KEY_B).withPreviousTextKeys(List.of(KEY_A)));
    FilterHarness.Handler handler = new FilterHarness.Handler(201);

    // A new key and its retry under the current key: the earlier fingerprints are never read.
    assertThat(send(rotated, "k-new", BODY, handler).getStatus()).isEqualTo(201);
    assertThat(send(rotated, "k-new", BODY, handler).getHeader("Idempotent-Replayed"))
        .isEqualTo("true");
    assertThat(counting.reads).as("reads of the earlier fingerprints").hasValue(0);

    // A key stored before the rotation: read once, and replayed exactly as before.
    assertThat(send(before, "k-old", BODY, handler).getStatus()).isEqualTo(201);
    MockHttpServletResponse retry = send(rotated, "k-old", BODY, handler);
    assertThat(retry.getHeader("Idempotent-Replayed")).isEqualTo("true");
    assertThat(retry.getContentAsString()).contains("payment-2");
    assertThat(counting.reads).hasPositiveValue();

    // A different body under an old key still mismatches.
    assertThat(send(rotated, "k-old", "{\"amountMinor\":999}", handler).getStatus()).isEqualTo(422);
    assertThat(handler.runs).hasValue(2);
  }

  private IdempotencyFilter filter(Idempotency idempotency, RequestFingerprinting fingerprinting) {
    return new IdempotencyFilter(
        idempotency,
        new DataSourceTransactionManager(harness.dataSource),
        IdempotencyFilterSettings.defaults(fingerprinting)
            .withPathPatterns(List.of("/payments/**")),
        request -> null,
        harness.registry);
  }

  private static MockHttpServletResponse send(
      IdempotencyFilter filter, String key, String body, FilterHarness.Handler handler)
      throws Exception {
    return FilterHarness.send(filter, FilterHarness.post(key, body, "alice", null), handler);
  }

  /** The real {@link Idempotency}, counting how often the earlier fingerprints are read. */
  private static final class CountingIdempotency implements Idempotency {
    final AtomicInteger reads = new AtomicInteger();
    private final Idempotency delegate;

    CountingIdempotency(Idempotency delegate) {
      this.delegate = delegate;
    }

    @Override
    public <T> IdempotencyOutcome<T> execute(
        IdempotencyKey key,
        String fingerprint,
        Collection<String> earlierFingerprints,
        Class<T> resultType,
        Supplier<@Nullable T> work) {
      Collection<String> counted =
          new AbstractCollection<>() {
            @Override
            public Iterator<String> iterator() {
              reads.incrementAndGet();
              return earlierFingerprints.iterator();
            }

            @Override
            public int size() {
              reads.incrementAndGet();
              return earlierFingerprints.size();
            }
          };
      return delegate.execute(key, fingerprint, counted, resultType, work);
    }
  }
}
