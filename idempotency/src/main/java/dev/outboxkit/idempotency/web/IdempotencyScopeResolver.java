package dev.outboxkit.idempotency.web;

import jakarta.servlet.http.HttpServletRequest;
import java.security.Principal;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Names whose idempotency keys a request uses: two requests share a stored response only when their
 * key <em>and</em> their scope are equal, so the scope must identify the real caller.
 *
 * <p>The default, {@link #principal()}, uses the authenticated principal ({@code
 * request.getUserPrincipal()}, which Spring Security fills when its filter chain runs before the
 * idempotency filter). Define your own for what your authentication knows better, e.g. a JWT's
 * issuer and subject (subjects of two issuers may be equal), a tenant plus user, or an API key's
 * id:
 *
 * <pre>{@code
 * @Bean
 * IdempotencyScopeResolver issuerAndSubject() {
 *   return IdempotencyScopeResolver.of("jwt:", request ->
 *       request.getUserPrincipal() instanceof JwtAuthenticationToken jwt
 *           ? jwt.getToken().getIssuer() + " " + jwt.getToken().getSubject()
 *           : null);
 * }
 * }</pre>
 *
 * <p>A resolver returns {@code null} when it cannot name the caller. The filter then refuses the
 * keyed request (403 problem) unless the shared anonymous scope was chosen explicitly: a key
 * without a caller would let one caller receive another's stored response or pre-claim its key.
 * Implementations are thread-safe and must not read the request body.
 *
 * @since 0.1.0
 */
@FunctionalInterface
public interface IdempotencyScopeResolver {

  /**
   * The scope of this request's keys.
   *
   * @param request the request; never {@code null}
   * @return 1 to 255 characters without control characters, or {@code null} when the caller is not
   *     known
   */
  @Nullable String resolve(HttpServletRequest request);

  /**
   * This resolver, and {@code other} where this one knows no caller.
   *
   * @param other asked when this resolver returns {@code null}; not {@code null}
   */
  default IdempotencyScopeResolver orElse(IdempotencyScopeResolver other) {
    Objects.requireNonNull(other, "other");
    return request -> {
      String scope = resolve(request);
      return scope != null ? scope : other.resolve(request);
    };
  }

  /**
   * The authenticated principal's name, as {@code http:principal:<name>}; a name that does not fit
   * the key column is replaced by its SHA-256 (see {@link #of}).
   */
  static IdempotencyScopeResolver principal() {
    return request -> {
      Principal principal = request.getUserPrincipal();
      return principal == null
          ? null
          : ClientScopes.scope(ClientScopes.PRINCIPAL, principal.getName());
    };
  }

  /**
   * A request header's value, as {@code http:client:<value>}. A header is not authentication: any
   * caller can send another's value. Use it only behind a gateway that sets it.
   *
   * @param headerName the header, e.g. {@code X-Client-Id}; not blank
   */
  static IdempotencyScopeResolver header(String headerName) {
    if (headerName == null || headerName.isBlank()) {
      throw new IllegalArgumentException("headerName must not be blank");
    }
    return request -> {
      String value = request.getHeader(headerName);
      return value == null || value.isBlank()
          ? null
          : ClientScopes.scope(ClientScopes.CLIENT, value.strip());
    };
  }

  /**
   * A scope built from a name the function finds, e.g. a tenant or an API key id: {@code prefix +
   * name}, or {@code prefix + "sha256:" + hex} (the SHA-256 of the whole name) when the name is too
   * long for the 255-character column, holds control characters or itself starts with {@code
   * sha256:}, so distinct names never share a scope.
   *
   * @param prefix keeps these scopes apart from the others (e.g. {@code "tenant:"}); 1 to 64
   *     characters, no control characters
   * @param name the caller's name, or {@code null} (or blank) when unknown; not {@code null} itself
   */
  static IdempotencyScopeResolver of(
      String prefix, Function<HttpServletRequest, @Nullable String> name) {
    if (prefix == null
        || prefix.isBlank()
        || prefix.length() > 64
        || prefix.chars().anyMatch(Character::isISOControl)) {
      throw new IllegalArgumentException(
          "prefix must be 1 to 64 characters without control characters but was '" + prefix + "'");
    }
    Objects.requireNonNull(name, "name");
    return request -> {
      String value = name.apply(request);
      return value == null || value.isBlank() ? null : ClientScopes.scope(prefix, value);
    };
  }
}
