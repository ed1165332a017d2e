package dev.outboxkit.idempotency.web;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Makes a Spring MVC handler idempotent per {@code Idempotency-Key} header: the first request with
 * a key runs the handler and its response is stored in the same transaction as the handler's
 * writes; a retry with the same key gets the stored response without the handler running again.
 *
 * <pre>{@code
 * @Idempotent
 * @PostMapping("/payments")
 * ResponseEntity<Payment> authorize(@RequestBody AuthorizePayment command) { ... }
 * }</pre>
 *
 * <p>On a type, applies to every handler method of the controller.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE})
public @interface Idempotent {

  /**
   * Whether a request without the header is refused with 400. When {@code false}, such a request
   * runs without idempotency. Default: {@code true}.
   */
  boolean required() default true;
}
