/**
 * Payload encryption for the outbox: {@link dev.outboxkit.outbox.crypto.TinkPayloadCodec}, a {@link
 * dev.outboxkit.outbox.spi.PayloadCodec} with Google Tink AEAD. Needs {@code
 * com.google.crypto.tink:tink} on the class path (an optional dependency of outbox-core).
 */
@NullMarked
package dev.outboxkit.outbox.crypto;

import org.jspecify.annotations.NullMarked;
