package dev.outboxkit.spring.architecture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.tngtech.archunit.core.importer.ClassFileImporter;
import org.junit.jupiter.api.Test;

/**
 * The module-boundary and API rules of {@link ArchitectureTests} catch a violation: a class of the
 * starter that calls into the core's internal package fails it, naming both sides, while a class of
 * the core may use its own internals; an API type that names an internal or a Resilience4j type in
 * its signature fails the API rules.
 */
class ModuleBoundaryRuleTests {

  @Test
  void failsWhenAClassUsesAnotherModulesInternalPackage() {
    var classes =
        new ClassFileImporter()
            .importClasses(
                ReachesIntoTheCore.class, dev.outboxkit.outbox.internal.HeadersCodec.class);

    assertThatThrownBy(
            () -> ArchitectureTests.NO_MODULE_USES_ANOTHER_MODULES_INTERNALS.check(classes))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("module dev.outboxkit.spring uses dev.outboxkit.outbox's internals")
        .hasMessageContaining(ReachesIntoTheCore.class.getName())
        .hasMessageContaining("HeadersCodec.decode");
  }

  @Test
  void aModuleMayUseItsOwnInternals() {
    var classes =
        new ClassFileImporter()
            .importClasses(
                dev.outboxkit.outbox.internal.JdbcOutboxStore.class,
                dev.outboxkit.outbox.internal.HeadersCodec.class);

    assertThatCode(() -> ArchitectureTests.NO_MODULE_USES_ANOTHER_MODULES_INTERNALS.check(classes))
        .doesNotThrowAnyException();
  }

  @Test
  void theRelayApplicationIsAModuleOfItsOwn() {
    assertThat(ArchitectureTests.moduleOf("dev.outboxkit.relay.app.web"))
        .isEqualTo("dev.outboxkit.relay.app");
    assertThat(ArchitectureTests.moduleOf("dev.outboxkit.relay.internal.dialect"))
        .isEqualTo("dev.outboxkit.relay");
  }

  @Test
  void failsWhenAnApiTypeExposesAnInternalTypeEvenAsATypeArgument() {
    var classes = new ClassFileImporter().importClasses(ExposesAnInternalType.class);

    assertThatThrownBy(() -> ArchitectureTests.API_PACKAGES_EXPOSE_NO_IMPLEMENTATION.check(classes))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining(
            ExposesAnInternalType.class.getName()
                + " exposes dev.outboxkit.outbox.internal.JdbcOutboxStore in "
                + ExposesAnInternalType.class.getName()
                + ".store()");
  }

  @Test
  void anApiTypeMayUseItsModulesInternalsInsideItsBody() {
    var classes = new ClassFileImporter().importClasses(UsesAnInternalTypeInside.class);

    assertThatCode(() -> ArchitectureTests.API_PACKAGES_EXPOSE_NO_IMPLEMENTATION.check(classes))
        .doesNotThrowAnyException();
  }

  @Test
  void failsWhenAnApiTypeTakesAResilience4jType() {
    var classes = new ClassFileImporter().importClasses(ExposesResilience4j.class);

    assertThatThrownBy(() -> ArchitectureTests.API_PACKAGES_EXPOSE_NO_RESILIENCE4J.check(classes))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining(
            ExposesResilience4j.class.getName()
                + " exposes io.github.resilience4j.circuitbreaker.CircuitBreakerConfig in "
                + ExposesResilience4j.class.getName()
                + ".circuitBreaker(");
    // A type that uses no Resilience4j type keeps to it.
    assertThatCode(
            () ->
                ArchitectureTests.API_PACKAGES_EXPOSE_NO_RESILIENCE4J.check(
                    new ClassFileImporter().importClasses(UsesAnInternalTypeInside.class)))
        .doesNotThrowAnyException();
  }

  /** A fixture that breaks the rule: the starter's package, the core's internal codec. */
  static final class ReachesIntoTheCore {
    static Object headers(String json) {
      return dev.outboxkit.outbox.internal.HeadersCodec.decode(json);
    }
  }
}
