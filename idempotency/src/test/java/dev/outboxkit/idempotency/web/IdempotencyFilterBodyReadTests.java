package dev.outboxkit.idempotency.web;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import java.io.IOException;
import java.io.InputStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.mock.web.MockHttpServletRequest;

/**
 * Issue 23: the body is read into an array of its declared length instead of through readNBytes of
 * the limit; the bytes read, and which bodies are too large, stay exactly as they were, also when
 * the declared length is missing or wrong.
 */
class IdempotencyFilterBodyReadTests {

  private static final int MAX = 16;

  @ParameterizedTest(name = "{0} bytes sent, {1} declared")
  @CsvSource({
    "0, 0", "0, -1", "5, 5", "5, -1", "16, 16", "16, -1", "17, -1", "17, 16", "40, 3", "10, 3",
    "16, 3", "3, 10", "0, 10", "16, 15", "17, 15", "100, 0", "1, 0"
  })
  void readsWhatTheLimitReadingReadAndRefusesTheSameBodies(int sent, long declared)
      throws IOException {
    byte[] content = new byte[sent];
    for (int i = 0; i < sent; i++) {
      content[i] = (byte) (i * 7 + 1);
    }

    byte[] read = IdempotencyFilter.readBody(request(content, declared), MAX);

    assertThat(read).isEqualTo(asBefore(request(content, declared)));
    if (sent <= MAX) {
      assertThat(read).isEqualTo(content);
    } else {
      assertThat(read).isNull();
    }
  }

  /** The reading before issue 23: up to the limit plus one byte, whatever the declared length. */
  private static byte @Nullable [] asBefore(HttpServletRequest request) throws IOException {
    if (request.getContentLengthLong() > MAX) {
      return null;
    }
    try (InputStream in = request.getInputStream()) {
      byte[] body = in.readNBytes(MAX + 1);
      return body.length > MAX ? null : body;
    }
  }

  private static HttpServletRequest request(byte[] content, long declared) {
    MockHttpServletRequest request = new MockHttpServletRequest("POST", "/payments");
    request.setContent(content);
    return new HttpServletRequestWrapper(request) {
      @Override
      public long getContentLengthLong() {
        return declared;
      }

      @Override
      public int getContentLength() {
        return (int) declared;
      }
    };
  }
}
