package dev.outboxkit.idempotency;

import java.util.ArrayList;
import java.util.List;

/**
 * A key of an idempotent operation, within a scope (the client, tenant or operation the key belongs
 * to, so two clients never collide).
 *
 * @param scope where the key is unique, e.g. {@code "http:client-42"}; 1 to 255 characters, no
 *     control characters, not ending with whitespace (MySQL's and MariaDB's PAD SPACE collation
 *     would make {@code "a"} and {@code "a "} one scope)
 * @param key the client's key; 1 to 255 visible ASCII characters (what HTTP headers carry)
 */
public record IdempotencyKey(String scope, String key) {

  /**
   * @throws InvalidIdempotencyKeyException naming what is wrong
   */
  public IdempotencyKey {
    List<String> problems = new ArrayList<>();
    if (scope == null || scope.isBlank()) {
      problems.add("scope must not be blank");
    } else if (scope.length() > IdempotencyDefaults.MAX_KEY_LENGTH) {
      problems.add("scope must be at most 255 characters but has " + scope.length());
    } else if (scope.chars().anyMatch(Character::isISOControl)) {
      problems.add("scope must not contain control characters");
    } else if (Character.isWhitespace(scope.charAt(scope.length() - 1))) {
      // MySQL's and MariaDB's utf8mb4_bin pads: 'a' and 'a ' are one primary key there.
      problems.add(
          "scope must not end with a space or other whitespace (MySQL and MariaDB compare 'a'"
              + " and 'a ' as equal, so two scopes would share keys)");
    }
    if (key == null || key.isEmpty()) {
      problems.add("key must not be empty");
    } else if (key.length() > IdempotencyDefaults.MAX_KEY_LENGTH) {
      problems.add("key must be at most 255 characters but has " + key.length());
    } else if (!key.chars().allMatch(c -> c >= 0x21 && c <= 0x7E)) {
      problems.add(
          "key must contain only visible ASCII characters (no spaces or control characters)");
    }
    if (!problems.isEmpty()) {
      throw new InvalidIdempotencyKeyException(String.join("; ", problems));
    }
  }

  /**
   * A key.
   *
   * @param scope where the key is unique
   * @param key the client's key
   * @throws InvalidIdempotencyKeyException naming what is wrong
   */
  public static IdempotencyKey of(String scope, String key) {
    return new IdempotencyKey(scope, key);
  }
}
