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
public record StoredResponse(int status, Map<String, List<String>> headers, byte[] body) {}
