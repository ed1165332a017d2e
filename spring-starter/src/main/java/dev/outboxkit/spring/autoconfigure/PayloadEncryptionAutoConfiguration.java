package dev.outboxkit.spring.autoconfigure;

import com.google.crypto.tink.KeysetHandle;
import dev.outboxkit.idempotency.ResultCodec;
import dev.outboxkit.outbox.crypto.TinkPayloadCodec;
import dev.outboxkit.outbox.spi.PayloadCodec;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;

/**
 * Payload encryption with Google Tink when {@code outbox.encryption.keyset-file} or {@code
 * outbox.encryption.keyset} is set: a {@link TinkPayloadCodec} the outbox applies to every payload,
 * and (unless {@code outbox.encryption.idempotency-results=false}) a {@link ResultCodec} that
 * encrypts stored idempotency results with it. An application's own {@link PayloadCodec} or {@link
 * ResultCodec} bean wins. A keyset that cannot be loaded stops the application; the message never
 * quotes the keyset.
 */
@AutoConfiguration(before = {OutboxAutoConfiguration.class, IdempotencyAutoConfiguration.class})
@ConditionalOnClass({KeysetHandle.class, TinkPayloadCodec.class})
@Conditional(PayloadEncryptionAutoConfiguration.KeysetConfigured.class)
@EnableConfigurationProperties(PayloadEncryptionProperties.class)
public final class PayloadEncryptionAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean(PayloadCodec.class)
  TinkPayloadCodec outboxPayloadCodec(PayloadEncryptionProperties properties) {
    try {
      return properties.keysetFile() != null
          ? TinkPayloadCodec.fromJsonKeysetFile(properties.keysetFile())
          : TinkPayloadCodec.fromJsonKeyset(java.util.Objects.requireNonNull(properties.keyset()));
    } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
      throw new IllegalStateException(
          (properties.keysetFile() != null
                  ? "outbox.encryption.keyset-file"
                  : "outbox.encryption.keyset")
              + ": "
              + e.getMessage(),
          e instanceof java.io.UncheckedIOException ? e : null);
    }
  }

  /** Stored idempotency results through the same codec. */
  @Configuration(proxyBeanMethods = false)
  @ConditionalOnClass(ResultCodec.class)
  @ConditionalOnBooleanProperty(
      name = "outbox.encryption.idempotency-results",
      matchIfMissing = true)
  static class EncryptedResults {

    @Bean
    @ConditionalOnMissingBean(ResultCodec.class)
    ResultCodec outboxEncryptedResultCodec(PayloadCodec codec) {
      return ResultCodec.encrypted(ResultCodec.json(), codec);
    }
  }

  /** Either source of the keyset. */
  static final class KeysetConfigured extends AnyNestedCondition {

    KeysetConfigured() {
      super(ConfigurationPhase.REGISTER_BEAN);
    }

    @ConditionalOnProperty("outbox.encryption.keyset-file")
    static final class File {}

    @ConditionalOnProperty("outbox.encryption.keyset")
    static final class Text {}
  }
}
