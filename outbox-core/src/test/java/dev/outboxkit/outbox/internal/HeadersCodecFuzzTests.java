package dev.outboxkit.outbox.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Tag;

/**
 * Fuzz tests of the headers column's codec. In {@code ./mvnw verify} they replay the kept inputs
 * under {@code src/test/resources/.../HeadersCodecFuzzTestsInputs/}; {@code JAZZER_FUZZ=1} fuzzes
 * (docs/testing.md).
 */
@Tag("fuzz")
class HeadersCodecFuzzTests {

  /** Whatever headers an event has, the column gives back the same names, values and order. */
  @FuzzTest(maxDuration = "60s")
  void encodeThenDecodeGivesTheSameHeaders(FuzzedDataProvider data) {
    Map<String, String> headers = new LinkedHashMap<>();
    int count = data.consumeInt(0, 8);
    for (int i = 0; i < count; i++) {
      headers.put(data.consumeString(40), data.consumeString(200));
    }

    String column = HeadersCodec.encode(headers);

    if (headers.isEmpty()) {
      assertThat(column).isNull();
    } else {
      assertThat(column).isNotNull();
    }
    Map<String, String> decoded = HeadersCodec.decode(column);
    assertThat(decoded).containsExactlyEntriesOf(headers);
  }

  /**
   * Any text in the column (a row written by hand, a truncated value) decodes to a map of non-null
   * strings, or fails with an {@link IllegalArgumentException} that says what the column should
   * hold; never another exception and never {@code null}.
   */
  @FuzzTest(maxDuration = "60s")
  void decodeOfAnyTextGivesStringsOrAClearError(FuzzedDataProvider data) {
    // The remaining bytes as text: a kept input file is the column's text as it reads.
    String column = data.consumeRemainingAsString();
    Map<String, String> decoded;
    try {
      decoded = HeadersCodec.decode(column);
    } catch (IllegalArgumentException e) {
      assertThat(e)
          .hasMessageStartingWith("The headers column must hold a JSON object of string values");
      return;
    }
    assertThat(decoded).isNotNull().doesNotContainKey(null).doesNotContainValue(null);
    // What was accepted is stable: stored again, it reads back the same.
    assertThat(HeadersCodec.decode(HeadersCodec.encode(decoded))).isEqualTo(decoded);
  }
}
