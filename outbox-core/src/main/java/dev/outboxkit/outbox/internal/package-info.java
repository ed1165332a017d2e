/**
 * Implementation details of the write path. Not an API: anything here may change in any release.
 */
@NullMarked
package dev.outboxkit.outbox.internal;

import org.jspecify.annotations.NullMarked;
