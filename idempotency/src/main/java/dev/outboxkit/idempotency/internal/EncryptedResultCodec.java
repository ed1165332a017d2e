package dev.outboxkit.idempotency.internal;

import dev.outboxkit.idempotency.IdempotencyKey;
import dev.outboxkit.idempotency.ResultCodec;
import dev.outboxkit.outbox.PayloadIntegrityException;
import dev.outboxkit.outbox.spi.PayloadCodec;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * {@link ResultCodec#encrypted}: the delegate's bytes through a {@link PayloadCodec}, the codec's
 * headers stored in front of its output. The codec's context is derived from the key, so the
 * ciphertext is bound to its scope and key: the "event id" is a name-based UUID of both, the
 * "aggregate" is {@code idempotency-result:<scope>} / {@code <key>}.
 *
 * <p>Stored form: {@code OKR1}, a header count, each header as two length-prefixed UTF-8 strings,
 * then the codec's bytes.
 */
public final class EncryptedResultCodec implements ResultCodec {

  private static final byte[] MAGIC = "OKR1".getBytes(StandardCharsets.US_ASCII);

  private final ResultCodec delegate;
  private final PayloadCodec codec;

  public EncryptedResultCodec(ResultCodec delegate, PayloadCodec codec) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
    this.codec = Objects.requireNonNull(codec, "codec");
  }

  @Override
  public byte @Nullable [] encode(@Nullable Object result) {
    throw new IllegalStateException(
        "An encrypted result codec binds results to their key: call encode(key, result)");
  }

  @Override
  public <T> @Nullable T decode(byte @Nullable [] bytes, Class<T> type) {
    throw new IllegalStateException(
        "An encrypted result codec binds results to their key: call decode(key, bytes, type)");
  }

  @Override
  public byte @Nullable [] encode(IdempotencyKey key, @Nullable Object result) {
    byte[] plain = delegate.encode(key, result);
    if (plain == null) {
      return null;
    }
    PayloadCodec.Encoded encoded = codec.encode(context(key), plain);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(MAGIC);
    out.writeBytes(ByteBuffer.allocate(4).putInt(encoded.headers().size()).array());
    encoded
        .headers()
        .forEach(
            (name, value) -> {
              writeString(out, name);
              writeString(out, value);
            });
    out.writeBytes(encoded.payload());
    return out.toByteArray();
  }

  @Override
  public <T> @Nullable T decode(IdempotencyKey key, byte @Nullable [] bytes, Class<T> type) {
    if (bytes == null) {
      return delegate.decode(key, null, type);
    }
    PayloadCodec.Context context = context(key);
    ByteBuffer in = ByteBuffer.wrap(bytes);
    Map<String, String> headers = new LinkedHashMap<>();
    try {
      byte[] magic = new byte[MAGIC.length];
      in.get(magic);
      if (!java.util.Arrays.equals(magic, MAGIC)) {
        throw notEncrypted(key, null);
      }
      int count = in.getInt();
      if (count < 0 || count > 64) {
        throw notEncrypted(key, null);
      }
      for (int i = 0; i < count; i++) {
        headers.put(readString(in), readString(in));
      }
    } catch (RuntimeException e) {
      throw e instanceof PayloadIntegrityException p ? p : notEncrypted(key, e);
    }
    byte[] ciphertext = new byte[in.remaining()];
    in.get(ciphertext);
    return delegate.decode(key, codec.decode(context, headers, ciphertext), type);
  }

  private static PayloadIntegrityException notEncrypted(
      IdempotencyKey key, @Nullable RuntimeException cause) {
    return new PayloadIntegrityException(
        null,
        "The stored result of idempotency key "
            + key
            + " is not an encrypted result (altered, or stored before encryption was turned on);"
            + " it is not replayed",
        cause);
  }

  private static PayloadCodec.Context context(IdempotencyKey key) {
    String scope = key.scope();
    String id = key.key();
    byte[] name = (scope.length() + ":" + scope + id).getBytes(StandardCharsets.UTF_8);
    return new PayloadCodec.Context(
        UUID.nameUUIDFromBytes(name), "idempotency-result:" + scope, id);
  }

  private static void writeString(ByteArrayOutputStream out, String value) {
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    out.writeBytes(ByteBuffer.allocate(4).putInt(bytes.length).array());
    out.writeBytes(bytes);
  }

  private static String readString(ByteBuffer in) {
    int length = in.getInt();
    if (length < 0 || length > in.remaining()) {
      throw new IllegalArgumentException("bad length " + length);
    }
    byte[] bytes = new byte[length];
    in.get(bytes);
    return new String(bytes, StandardCharsets.UTF_8);
  }

  @Override
  public String toString() {
    return "EncryptedResultCodec[" + delegate + " through " + codec + "]";
  }
}
