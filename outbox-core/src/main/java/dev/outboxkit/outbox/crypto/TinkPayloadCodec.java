package dev.outboxkit.outbox.crypto;

import com.google.crypto.tink.Aead;
import com.google.crypto.tink.InsecureSecretKeyAccess;
import com.google.crypto.tink.KeysetHandle;
import com.google.crypto.tink.RegistryConfiguration;
import com.google.crypto.tink.TinkJsonProtoKeysetFormat;
import com.google.crypto.tink.aead.AeadConfig;
import dev.outboxkit.outbox.OutboxHeaders;
import dev.outboxkit.outbox.PayloadIntegrityException;
import dev.outboxkit.outbox.spi.PayloadCodec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.Map;
import java.util.Objects;

/**
 * Encrypts payloads with a Tink AEAD keyset (AES-GCM, AES-GCM-SIV, XChaCha20-Poly1305 …), so the
 * outbox table, the change log, Kafka and the dead-letter topic hold ciphertext only.
 *
 * <ul>
 *   <li><b>Binding.</b> The associated data is the event id, aggregate type and aggregate id: a
 *       ciphertext copied onto another event, or a record whose key or {@code outbox-event-id}
 *       header was changed, fails to decrypt.
 *   <li><b>Key id.</b> The primary key's id goes into the {@value OutboxHeaders#KEY_ID} header (and
 *       Tink's 5-byte ciphertext prefix) and {@value OutboxHeaders#PAYLOAD_ENCODING} says {@value
 *       #ENCODING}. The id is not secret.
 *   <li><b>Rotation.</b> Add a key to the keyset and make it primary: new events use it, every key
 *       still in the keyset decrypts the events written before. Remove an old key only once no
 *       stored, parked or retained record needs it.
 *   <li><b>Tampering</b> fails loudly: {@link #decode} throws {@link PayloadIntegrityException}
 *       naming the event, never key material. A record without the encoding header is refused too
 *       (so nobody can slip a plaintext record past a consumer that expects ciphertext).
 * </ul>
 *
 * <p>The keyset is the secret: load it from a file or environment variable the platform protects
 * (or a KMS-wrapped keyset with {@link #of(KeysetHandle)}); this class never prints it ({@link
 * #toString} shows the primary key id only). Thread-safe.
 */
public final class TinkPayloadCodec implements PayloadCodec {

  /** The value of {@value OutboxHeaders#PAYLOAD_ENCODING} this codec writes. */
  public static final String ENCODING = "tink-aead-v1";

  private static final byte[] DOMAIN = "outboxkit-payload-v1".getBytes(StandardCharsets.UTF_8);

  static {
    try {
      AeadConfig.register();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("Tink's AEAD key managers could not be registered", e);
    }
  }

  private final Aead aead;
  private final String primaryKeyId;

  private TinkPayloadCodec(Aead aead, String primaryKeyId) {
    this.aead = aead;
    this.primaryKeyId = primaryKeyId;
  }

  /**
   * A codec over a keyset handle, e.g. one decrypted with a KMS master key.
   *
   * @param keyset the keyset: its primary key encrypts, all of its enabled keys decrypt; not null
   * @throws IllegalArgumentException when the keyset holds no AEAD keys
   */
  public static TinkPayloadCodec of(KeysetHandle keyset) {
    Objects.requireNonNull(keyset, "keyset");
    try {
      return new TinkPayloadCodec(
          keyset.getPrimitive(RegistryConfiguration.get(), Aead.class),
          Integer.toUnsignedString(keyset.getPrimary().getId()));
    } catch (GeneralSecurityException e) {
      // Tink's message names key types, not key material.
      throw new IllegalArgumentException(
          "The keyset is not an AEAD keyset (create one with tinkey create-keyset --key-template"
              + " AES256_GCM): "
              + e.getMessage(),
          e);
    }
  }

  /**
   * A codec over a cleartext keyset in Tink's JSON format (what {@code tinkey create-keyset
   * --out-format json} writes).
   *
   * @param json the keyset, not null
   * @throws IllegalArgumentException when it is not a JSON AEAD keyset; the message never quotes it
   */
  public static TinkPayloadCodec fromJsonKeyset(String json) {
    Objects.requireNonNull(json, "json");
    KeysetHandle keyset;
    try {
      keyset = TinkJsonProtoKeysetFormat.parseKeyset(json, InsecureSecretKeyAccess.get());
    } catch (GeneralSecurityException | RuntimeException e) {
      // No cause: a parser's message may quote the input, which is the key.
      throw new IllegalArgumentException(
          "The payload encryption keyset is not a Tink JSON keyset ("
              + json.length()
              + " characters; its content is not shown)");
    }
    return of(keyset);
  }

  /**
   * A codec over a cleartext JSON keyset file.
   *
   * @param file the file, not null
   * @throws UncheckedIOException when it cannot be read
   * @throws IllegalArgumentException when it is not a JSON AEAD keyset
   */
  public static TinkPayloadCodec fromJsonKeysetFile(Path file) {
    Objects.requireNonNull(file, "file");
    String json;
    try {
      json = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not read the payload encryption keyset " + file, e);
    }
    try {
      return fromJsonKeyset(json);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage());
    }
  }

  /** The id of the key new payloads are encrypted with (not secret). */
  public String primaryKeyId() {
    return primaryKeyId;
  }

  @Override
  public Encoded encode(Context context, byte[] payload) {
    Objects.requireNonNull(payload, "payload");
    try {
      return new Encoded(
          aead.encrypt(payload, associatedData(context)),
          Map.of(OutboxHeaders.PAYLOAD_ENCODING, ENCODING, OutboxHeaders.KEY_ID, primaryKeyId));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          "Could not encrypt the payload of event " + context.eventId(), e);
    }
  }

  @Override
  public byte[] decode(Context context, Map<String, String> headers, byte[] payload) {
    Objects.requireNonNull(payload, "payload");
    String encoding = headers.get(OutboxHeaders.PAYLOAD_ENCODING);
    if (!ENCODING.equals(encoding)) {
      throw new PayloadIntegrityException(
          context.eventId(),
          "The payload of event "
              + context.eventId()
              + " ("
              + context.aggregateType()
              + ") is not "
              + ENCODING
              + " ("
              + OutboxHeaders.PAYLOAD_ENCODING
              + " header: "
              + (encoding == null ? "absent" : "'" + shown(encoding) + "'")
              + "); refusing it: park the record and find out who wrote it",
          null);
    }
    try {
      return aead.decrypt(payload, associatedData(context));
    } catch (GeneralSecurityException e) {
      throw new PayloadIntegrityException(
          context.eventId(),
          "The payload of event "
              + context.eventId()
              + " ("
              + context.aggregateType()
              + ") failed authentication: it was altered, copied from another event or"
              + " aggregate, or encrypted with a key missing from this keyset (record key id "
              + shown(headers.getOrDefault(OutboxHeaders.KEY_ID, "absent"))
              + "). Do not retry or skip it: park the record and investigate",
          e);
    }
  }

  /** A header value from the record, which anyone can write: short, visible ASCII only. */
  private static String shown(String value) {
    StringBuilder shown = new StringBuilder();
    value.chars().limit(32).forEach(c -> shown.append(c >= 0x20 && c <= 0x7E ? (char) c : '?'));
    return value.length() > 32 ? shown + "..." : shown.toString();
  }

  /** Length-prefixed fields, so no two different contexts give the same bytes. */
  private static byte[] associatedData(Context context) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] field :
        new byte[][] {
          DOMAIN,
          context.eventId().toString().getBytes(StandardCharsets.UTF_8),
          context.aggregateType().getBytes(StandardCharsets.UTF_8),
          context.aggregateId().getBytes(StandardCharsets.UTF_8)
        }) {
      out.writeBytes(ByteBuffer.allocate(4).putInt(field.length).array());
      out.writeBytes(field);
    }
    return out.toByteArray();
  }

  @Override
  public String toString() {
    return "TinkPayloadCodec[encoding=" + ENCODING + ", primaryKeyId=" + primaryKeyId + "]";
  }
}
