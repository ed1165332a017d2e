package dev.outboxkit.spring.autoconfigure;

import java.nio.file.Path;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Payload encryption, under {@code outbox.encryption.*}: with a keyset, every appended payload is
 * encrypted with Google Tink AEAD before its row is written (see docs/security.md). Needs {@code
 * com.google.crypto.tink:tink} on the class path. Only writers and consumers need the keyset; the
 * relay never does.
 *
 * @param keyset A Tink cleartext JSON keyset as text, e.g. from an environment variable
 *     (OUTBOX_ENCRYPTION_KEYSET); the same as keyset-file. Never printed. Set one of keyset-file
 *     and keyset.
 * @param keysetFile A Tink cleartext JSON keyset file (tinkey create-keyset --key-template
 *     AES256_GCM --out-format json), readable by this process only, e.g. a mounted Kubernetes
 *     Secret.
 * @param idempotencyResults Whether stored idempotency results (HTTP responses replayed for a
 *     repeated Idempotency-Key) are encrypted with the same keyset.
 */
@ConfigurationProperties("outbox.encryption")
public record PayloadEncryptionProperties(
    @Nullable Path keysetFile,
    @Nullable String keyset,
    @DefaultValue("true") boolean idempotencyResults) {

  // The @param of keyset comes before keysetFile's: the metadata processor finds a component's
  // @param by prefix, and "@param keyset" after "@param keysetFile" gave outbox.encryption.keyset
  // the other one's text (ConfigurationDocsTests.noPropertyBorrowsAnotherOnesDescription).

  /** Checks that at most one source of the keyset is set. */
  public PayloadEncryptionProperties {
    if (keysetFile != null && keyset != null) {
      throw new IllegalArgumentException(
          "Set only one of outbox.encryption.keyset-file and outbox.encryption.keyset");
    }
  }

  /** Shows where the keyset comes from, never the keyset. */
  @Override
  public String toString() {
    return "PayloadEncryptionProperties[keysetFile="
        + keysetFile
        + ", keyset="
        + (keyset == null ? null : "****")
        + ", idempotencyResults="
        + idempotencyResults
        + "]";
  }
}
