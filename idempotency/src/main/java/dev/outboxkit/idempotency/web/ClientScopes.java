package dev.outboxkit.idempotency.web;

import dev.outboxkit.idempotency.IdempotencyDefaults;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * The scopes the built-in {@link IdempotencyScopeResolver}s produce, and the one shared anonymous
 * scope a deployment may opt into.
 *
 * <p>A scope must fit the 255-character key column, but principal names need not: an X.509 subject
 * DN easily passes it, which would make every request of that user a 400. Such a name is replaced,
 * deterministically, by the SHA-256 of the whole name ({@code http:principal:sha256:<64 hex
 * digits>}): fixed length, and two names share it only if SHA-256 collides. Short names stay
 * readable. A name that itself starts with {@code sha256:}, or holds control characters (which the
 * column does not take), is hashed too, so a readable scope can never be mistaken for the hash of
 * another name.
 */
final class ClientScopes {

  static final String PRINCIPAL = "http:principal:";
  static final String CLIENT = "http:client:";
  static final String ANONYMOUS = "http:anonymous";
  static final String HASHED = "sha256:";

  private ClientScopes() {}

  static String scope(String prefix, String name) {
    if (prefix.length() + name.length() <= IdempotencyDefaults.MAX_KEY_LENGTH
        && !name.startsWith(HASHED)
        && name.chars().noneMatch(Character::isISOControl)) {
      return prefix + name;
    }
    byte[] hash = RequestFingerprints.sha256().digest(name.getBytes(StandardCharsets.UTF_8));
    return prefix + HASHED + HexFormat.of().formatHex(hash);
  }
}
