/**
 * HTTP {@code Idempotency-Key} support for Spring MVC, after the IETF httpapi draft and Stripe's
 * behaviour. The Spring Boot starter registers {@link
 * dev.outboxkit.idempotency.web.IdempotencyFilter}.
 */
@NullMarked
package dev.outboxkit.idempotency.web;

import org.jspecify.annotations.NullMarked;
