package dev.outboxkit.relay.internal;

import dev.outboxkit.relay.SecretMasking;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The relay's short name for {@link SecretMasking}, which holds the rules: kept so that the relay's
 * many call sites read as before; code outside this module uses {@link SecretMasking}.
 */
public final class Secrets {

  public static final String MASK = SecretMasking.MASK;

  private Secrets() {}

  /** See {@link SecretMasking#isSecret}. */
  public static boolean isSecret(String name) {
    return SecretMasking.isSecret(name);
  }

  /** See {@link SecretMasking#masked}. */
  public static Map<String, Object> masked(@Nullable Map<String, ?> properties) {
    return SecretMasking.masked(properties);
  }

  /** See {@link SecretMasking#maskedUrl}. */
  public static @Nullable String maskedUrl(@Nullable String url) {
    return SecretMasking.maskedUrl(url);
  }
}
