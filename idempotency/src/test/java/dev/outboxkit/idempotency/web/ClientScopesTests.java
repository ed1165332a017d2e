package dev.outboxkit.idempotency.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.outboxkit.idempotency.IdempotencyKey;
import org.junit.jupiter.api.Test;

class ClientScopesTests {

  private static final String DN =
      "CN=gateway.example.com,OU=Card Processing,O=Example Payments GmbH,C=DE,serialNumber=";

  @Test
  void aShortNameStaysReadable() {
    assertThat(ClientScopes.scope(ClientScopes.PRINCIPAL, "alice"))
        .isEqualTo("http:principal:alice");
  }

  @Test
  void aNameTooLongForTheColumnBecomesAFixedLengthHashThatIsAValidScope() {
    String name = DN + "x".repeat(300);
    String scope = ClientScopes.scope(ClientScopes.PRINCIPAL, name);
    assertThat(scope).matches("http:principal:sha256:[0-9a-f]{64}");
    assertThat(ClientScopes.scope(ClientScopes.PRINCIPAL, name)).isEqualTo(scope);
    assertThat(IdempotencyKey.of(scope, "k").scope()).isEqualTo(scope);
  }

  @Test
  void theLongestReadableScopeFitsAndOneCharacterMoreIsHashed() {
    String fits = "a".repeat(255 - ClientScopes.PRINCIPAL.length());
    assertThat(ClientScopes.scope(ClientScopes.PRINCIPAL, fits)).hasSize(255).endsWith(fits);
    assertThat(ClientScopes.scope(ClientScopes.PRINCIPAL, fits + "a")).contains("sha256:");
  }

  @Test
  void longNamesThatDifferOnlyAtTheEndGetDifferentScopes() {
    String prefix = DN + "y".repeat(300);
    assertThat(ClientScopes.scope(ClientScopes.PRINCIPAL, prefix + "1"))
        .isNotEqualTo(ClientScopes.scope(ClientScopes.PRINCIPAL, prefix + "2"));
  }

  @Test
  void aReadableNameCanNeverPoseAsTheHashOfAnother() {
    String longName = DN + "z".repeat(300);
    String hashed = ClientScopes.scope(ClientScopes.PRINCIPAL, longName);
    String impostor = hashed.substring(ClientScopes.PRINCIPAL.length()); // "sha256:<hex>"
    assertThat(ClientScopes.scope(ClientScopes.PRINCIPAL, impostor)).isNotEqualTo(hashed);
  }

  @Test
  void namesWithControlCharactersAreHashedInsteadOfRejected() {
    String scope = ClientScopes.scope(ClientScopes.CLIENT, "client\tone");
    assertThat(scope).matches("http:client:sha256:[0-9a-f]{64}");
    assertThat(IdempotencyKey.of(scope, "k").scope()).isEqualTo(scope);
  }
}
