package dev.outboxkit.relay.app;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationToken;

/**
 * Maps a bearer token to the management roles: the scope {@code outbox:read} (in {@code scope} or
 * {@code scp}) to the reader role, {@code outbox:operate} to the operator role; the token's {@code
 * sub} is the principal the audit trail records. Declare a bean of this type to map other scopes,
 * or a roles claim of your identity provider, instead.
 *
 * @param readScope the scope that grants reading (listing parked events, the audit trail)
 * @param operateScope the scope that grants replay and purge (and reading)
 * @param readerRole the reader role, without {@code ROLE_}
 * @param operatorRole the operator role, without {@code ROLE_}
 * @param principalClaim the claim that names the person (e.g. {@code sub}, {@code
 *     preferred_username}, {@code email}); falls back to {@code sub} when the token lacks it
 */
public record JwtRoles(
    String readScope,
    String operateScope,
    String readerRole,
    String operatorRole,
    String principalClaim) {

  /** Scope {@code outbox:read} and {@code outbox:operate}, principal from {@code sub}. */
  static JwtRoles defaults(String readerRole, String operatorRole) {
    return new JwtRoles("outbox:read", "outbox:operate", readerRole, operatorRole, "sub");
  }

  /** The authentication for a validated token. */
  JwtAuthenticationToken convert(Jwt jwt) {
    List<GrantedAuthority> authorities = new ArrayList<>();
    Collection<String> scopes = scopes(jwt);
    if (scopes.contains(operateScope)) {
      authorities.add(new SimpleGrantedAuthority("ROLE_" + operatorRole));
      authorities.add(new SimpleGrantedAuthority("ROLE_" + readerRole));
    } else if (scopes.contains(readScope)) {
      authorities.add(new SimpleGrantedAuthority("ROLE_" + readerRole));
    }
    String name = jwt.getClaimAsString(principalClaim);
    return new JwtAuthenticationToken(
        jwt, authorities, name == null || name.isBlank() ? jwt.getSubject() : name);
  }

  private static Collection<String> scopes(Jwt jwt) {
    Object scope = jwt.getClaims().getOrDefault("scope", jwt.getClaims().get("scp"));
    if (scope instanceof String text) {
      return List.of(text.split(" "));
    }
    if (scope instanceof Collection<?> list) {
      return list.stream().map(String::valueOf).toList();
    }
    return List.of();
  }
}
