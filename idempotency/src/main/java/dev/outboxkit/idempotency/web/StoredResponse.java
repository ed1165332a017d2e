package dev.outboxkit.idempotency.web;

import java.util.List;
import java.util.Map;

/**
 * A response as stored with its idempotency key and sent again on a replay.
 *
 * @param status the HTTP status
 * @param headers the headers chosen for replay (by default {@code Content-Type} and {@code
 *     Location})
 * @param body the body bytes
 */
public record StoredResponse(int status, Map<String, List<String>> headers, byte[] body) {

  /** Missing parts (e.g. left out by a codec that skips empty values) read as empty. */
  public StoredResponse {
    headers = headers == null ? Map.of() : headers;
    body = body == null ? new byte[0] : body;
  }
}
