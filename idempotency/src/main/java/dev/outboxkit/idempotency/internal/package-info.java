/** Implementation details of idempotency and the inbox. Not an API. */
@NullMarked
package dev.outboxkit.idempotency.internal;

import org.jspecify.annotations.NullMarked;
