package dev.outboxkit.idempotency.web;

/**
 * Decides which responses are stored with their idempotency key and replayed. A response that is
 * not stored rolls its transaction back (key, rows and events), so the client's retry runs the
 * handler again. Define a bean of this type to replace the default.
 */
@FunctionalInterface
public interface CacheableResponses {

  /**
   * 2xx, 3xx (a redirect after a POST is a success) and 4xx except authentication and authorization
   * failures (401, 403, 407: the caller may fix its credentials or be granted access and retry with
   * the same key), 409 (conflict) and 429 (rate limited); never 5xx.
   */
  CacheableResponses DEFAULT =
      status ->
          status < 500
              && status != 401
              && status != 403
              && status != 407
              && status != 409
              && status != 429;

  /**
   * @param status the response status
   * @return whether to store the response and replay it for the same key
   */
  boolean isCacheable(int status);
}
