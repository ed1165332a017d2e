package dev.outboxkit.outbox.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.AeadConfig;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.PayloadIntegrityException;
import dev.outboxkit.outbox.spi.PayloadCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TinkPayloadCodecTests {

  static final byte[] PAN = "{\"pan\":\"4111111111111111\"}".getBytes(StandardCharsets.UTF_8);
  static final PayloadCodec.Context CONTEXT =
      new PayloadCodec.Context(UUID.randomUUID(), "Payment", "p-1");

  static KeysetHandle newKeyset() throws Exception {
    AeadConfig.register();
    return KeysetHandle.generateNew(
        com.google.crypto.tink.aead.PredefinedAeadParameters.AES256_GCM);
  }

  static KeysetHandle rotated(KeysetHandle keyset) throws Exception {
    return KeysetHandle.newBuilder(keyset)
        .addEntry(
            KeysetHandle.generateEntryFromParameters(
                    com.google.crypto.tink.aead.PredefinedAeadParameters.AES256_GCM)
                .withRandomId()
                .makePrimary())
        .build();
  }

  static String json(KeysetHandle keyset) throws Exception {
    return TinkJsonProtoKeysetFormat.serializeKeyset(keyset, InsecureSecretKeyAccess.get());
  }

  @Test
  void encryptsWithTheKeyIdInAHeaderAndDecryptsForTheSameEvent() throws Exception {
    TinkPayloadCodec codec = TinkPayloadCodec.of(newKeyset());
    PayloadCodec.Encoded encoded = codec.encode(CONTEXT, PAN);
    assertThat(new String(encoded.payload(), StandardCharsets.ISO_8859_1))
        .doesNotContain("4111111111111111");
    assertThat(encoded.headers())
        .containsEntry(OutboxHeaders.PAYLOAD_ENCODING, TinkPayloadCodec.ENCODING)
        .containsEntry(OutboxHeaders.KEY_ID, codec.primaryKeyId());
    assertThat(codec.decode(CONTEXT, encoded.headers(), encoded.payload())).isEqualTo(PAN);
  }

  @Test
  void aCiphertextMovedToAnotherEventOrAggregateFailsNamingTheEvent() throws Exception {
    TinkPayloadCodec codec = TinkPayloadCodec.of(newKeyset());
    PayloadCodec.Encoded encoded = codec.encode(CONTEXT, PAN);
    for (PayloadCodec.Context other :
        new PayloadCodec.Context[] {
          new PayloadCodec.Context(UUID.randomUUID(), "Payment", "p-1"),
          new PayloadCodec.Context(CONTEXT.eventId(), "Refund", "p-1"),
          new PayloadCodec.Context(CONTEXT.eventId(), "Payment", "p-2")
        }) {
      assertThatThrownBy(() -> codec.decode(other, encoded.headers(), encoded.payload()))
          .isInstanceOf(PayloadIntegrityException.class)
          .hasMessageContaining("event " + other.eventId())
          .hasMessageContaining("failed authentication");
    }
  }

  @Test
  void aTamperedCiphertextFailsLoudlyWithoutKeyMaterialInTheMessage() throws Exception {
    KeysetHandle keyset = newKeyset();
    TinkPayloadCodec codec = TinkPayloadCodec.of(keyset);
    PayloadCodec.Encoded encoded = codec.encode(CONTEXT, PAN);
    byte[] tampered = encoded.payload().clone();
    tampered[tampered.length - 1] ^= 1;
    assertThatThrownBy(() -> codec.decode(CONTEXT, encoded.headers(), tampered))
        .isInstanceOf(PayloadIntegrityException.class)
        .hasMessageContaining(CONTEXT.eventId().toString())
        .satisfies(
            e -> {
              assertThat(((PayloadIntegrityException) e).eventId()).isEqualTo(CONTEXT.eventId());
              String keyValue = keyValueOf(json(keyset));
              assertThat(e.getMessage()).doesNotContain(keyValue);
              assertThat(String.valueOf(e.getCause())).doesNotContain(keyValue);
            });
  }

  @Test
  void aRecordWithoutTheEncodingHeaderIsRefused() throws Exception {
    TinkPayloadCodec codec = TinkPayloadCodec.of(newKeyset());
    assertThatThrownBy(() -> codec.decode(CONTEXT, Map.of(), PAN))
        .isInstanceOf(PayloadIntegrityException.class)
        .hasMessageContaining("is not " + TinkPayloadCodec.ENCODING)
        .hasMessageContaining("absent");
  }

  @Test
  void afterRotationNewEventsUseTheNewKeyAndOldEventsStillDecrypt() throws Exception {
    KeysetHandle before = newKeyset();
    TinkPayloadCodec old = TinkPayloadCodec.of(before);
    PayloadCodec.Encoded written = old.encode(CONTEXT, PAN);

    TinkPayloadCodec current = TinkPayloadCodec.fromJsonKeyset(json(rotated(before)));
    assertThat(current.primaryKeyId()).isNotEqualTo(old.primaryKeyId());
    PayloadCodec.Encoded fresh = current.encode(CONTEXT, PAN);
    assertThat(fresh.headers()).containsEntry(OutboxHeaders.KEY_ID, current.primaryKeyId());

    assertThat(current.decode(CONTEXT, written.headers(), written.payload())).isEqualTo(PAN);
    assertThat(current.decode(CONTEXT, fresh.headers(), fresh.payload())).isEqualTo(PAN);
    // A consumer still on the old keyset cannot read the new key's events: it fails, loudly.
    assertThatThrownBy(() -> old.decode(CONTEXT, fresh.headers(), fresh.payload()))
        .isInstanceOf(PayloadIntegrityException.class)
        .hasMessageContaining("key id " + current.primaryKeyId());
  }

  @Test
  void loadsAKeysetFileAndNeverPrintsIt(@TempDir Path dir) throws Exception {
    String json = json(newKeyset());
    Path file = Files.writeString(dir.resolve("keyset.json"), json);
    TinkPayloadCodec codec = TinkPayloadCodec.fromJsonKeysetFile(file);
    assertThat(codec.toString()).contains(codec.primaryKeyId()).doesNotContain(keyValueOf(json));

    String broken = json.replace("\"primaryKeyId\"", "\"primaryKeyIdX\"").substring(5);
    assertThatIllegalArgumentException()
        .isThrownBy(() -> TinkPayloadCodec.fromJsonKeyset(broken))
        .withMessageContaining("not a Tink JSON keyset")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain(keyValueOf(json)))
        .withNoCause();
  }

  /** The base64 key material of a JSON keyset. */
  private static String keyValueOf(String json) {
    Map<String, Object> first = new HashMap<>();
    java.util.regex.Matcher value =
        java.util.regex.Pattern.compile("\"value\":\\s*\"([^\"]+)\"").matcher(json);
    assertThat(value.find()).isTrue();
    first.put("value", value.group(1));
    return (String) first.get("value");
  }
}
