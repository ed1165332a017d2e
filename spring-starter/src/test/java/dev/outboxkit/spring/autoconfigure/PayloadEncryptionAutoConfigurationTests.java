package dev.outboxkit.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.AeadConfig;
import com.google.crypto.tink.aead.PredefinedAeadParameters;
import dev.outboxkit.idempotency.IdempotencyKey;
import dev.outboxkit.idempotency.ResultCodec;
import dev.outboxkit.outbox.Outbox;
import dev.outboxkit.outbox.OutboxEvent;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.PayloadIntegrityException;
import dev.outboxkit.outbox.crypto.TinkPayloadCodec;
import dev.outboxkit.outbox.spi.PayloadCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/** outbox.encryption.*: the outbox encrypts, stored idempotency results too, no key is printed. */
class PayloadEncryptionAutoConfigurationTests {

  static String keyset;

  @BeforeAll
  static void keyset() throws Exception {
    AeadConfig.register();
    keyset =
        TinkJsonProtoKeysetFormat.serializeKeyset(
            KeysetHandle.generateNew(PredefinedAeadParameters.AES256_GCM),
            InsecureSecretKeyAccess.get());
  }

  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(
              AutoConfigurations.of(
                  DataSourceAutoConfiguration.class,
                  DataSourceTransactionManagerAutoConfiguration.class,
                  TransactionAutoConfiguration.class,
                  JdbcTemplateAutoConfiguration.class,
                  PayloadEncryptionAutoConfiguration.class,
                  OutboxAutoConfiguration.class))
          .withPropertyValues(
              "spring.datasource.url=jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1",
              "outbox.store.auto-create=true",
              "outbox.idempotency.enabled=false");

  @Test
  void aKeysetFileMakesTheOutboxStoreCiphertext(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("keyset.json"), keyset);
    runner
        .withPropertyValues("outbox.encryption.keyset-file=" + file)
        .run(
            context -> {
              assertThat(context).hasNotFailed().hasSingleBean(TinkPayloadCodec.class);
              Outbox outbox = context.getBean(Outbox.class);
              OutboxEvent event =
                  new TransactionTemplate(context.getBean(PlatformTransactionManager.class))
                      .execute(
                          s -> outbox.append("Card", "c-1", "CardStored", "{\"pan\":\"4111\"}"));
              byte[] stored =
                  context
                      .getBean(JdbcTemplate.class)
                      .queryForObject(
                          "SELECT payload FROM outbox_event WHERE id = ?",
                          byte[].class,
                          event.id());
              assertThat(new String(stored, StandardCharsets.ISO_8859_1)).doesNotContain("4111");
              assertThat(event.headers()).containsKey(OutboxHeaders.KEY_ID);
              TinkPayloadCodec codec = context.getBean(TinkPayloadCodec.class);
              assertThat(codec.decode(PayloadCodec.Context.of(event), event.headers(), stored))
                  .isEqualTo("{\"pan\":\"4111\"}".getBytes(StandardCharsets.UTF_8));
              assertThat(context.getBean(PayloadEncryptionProperties.class).toString())
                  .doesNotContain(keyset);
            });
  }

  @Test
  void storedIdempotencyResultsAreEncryptedAndBoundToTheirKey() {
    runner
        .withPropertyValues("outbox.encryption.keyset=" + keyset)
        .run(
            context -> {
              assertThat(context).hasNotFailed();
              ResultCodec codec = context.getBean(ResultCodec.class);
              IdempotencyKey key = IdempotencyKey.of("http:alice", "k-1");
              byte[] stored = codec.encode(key, "token-4111");
              assertThat(new String(stored, StandardCharsets.ISO_8859_1))
                  .doesNotContain("token-4111");
              assertThat(codec.decode(key, stored, String.class)).isEqualTo("token-4111");
              IdempotencyKey other = IdempotencyKey.of("http:mallory", "k-1");
              org.assertj.core.api.Assertions.assertThatThrownBy(
                      () -> codec.decode(other, stored, String.class))
                  .isInstanceOf(PayloadIntegrityException.class);
              org.assertj.core.api.Assertions.assertThatThrownBy(
                      () -> codec.decode(key, ResultCodec.json().encode("plain"), String.class))
                  .isInstanceOf(PayloadIntegrityException.class)
                  .hasMessageContaining("not an encrypted result");
              assertThat(context.getBean(PayloadEncryptionProperties.class).toString())
                  .doesNotContain(keyset)
                  .contains("keyset=****");
            });
  }

  @Test
  void aBrokenKeysetStopsTheApplicationWithoutQuotingIt() {
    String broken = keyset.substring(3);
    runner
        .withPropertyValues("outbox.encryption.keyset=" + broken)
        .run(
            context ->
                assertThat(context)
                    .getFailure()
                    .rootCause()
                    .hasMessageContaining("outbox.encryption.keyset")
                    .hasMessageContaining("not a Tink JSON keyset")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain(broken)));
  }

  @Test
  void nothingWithoutAKeysetOrWithoutTink() {
    runner.run(context -> assertThat(context).doesNotHaveBean(PayloadCodec.class));
    runner
        .withPropertyValues("outbox.encryption.keyset=" + keyset)
        .withClassLoader(new FilteredClassLoader(KeysetHandle.class))
        .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(PayloadCodec.class));
  }
}
