package dev.outboxkit.spring.architecture;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The conventions of shared/STYLE.md as rules over the compiled classes of every module: which way
 * dependencies point, that the relay's API reaches its implementations only through one factory
 * (which hands over to one per mode), that no module uses another's {@code internal} packages and
 * no API package exposes one, and that the relay's packages have no cycles. The rules name
 * packages, never classes.
 */
class ArchitectureTests {

  private static final JavaClasses CLASSES =
      new ClassFileImporter()
          .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
          .importPackages("dev.outboxkit");

  @Test
  void theCoreHasNoSpringKafkaOrDebeziumAndKnowsNoOtherModule() {
    noClasses()
        .that()
        .resideInAPackage("dev.outboxkit.outbox..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "org.springframework..",
            "org.apache.kafka..",
            "io.debezium..",
            "dev.outboxkit.relay..",
            "dev.outboxkit.idempotency..",
            "dev.outboxkit.spring..")
        .check(CLASSES);
  }

  @Test
  void dependenciesPointFromTheStarterToTheModulesNeverBack() {
    noClasses()
        .that()
        .resideInAnyPackage("dev.outboxkit.relay..", "dev.outboxkit.idempotency..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("dev.outboxkit.spring..")
        .check(CLASSES);
    noClasses()
        .that()
        .resideInAPackage("dev.outboxkit.relay..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("org.springframework..", "dev.outboxkit.idempotency..")
        .check(CLASSES);
  }

  /** The packages of the two relay modes. */
  private static final String[] MODE_PACKAGES = {
    "dev.outboxkit.relay.internal.polling..", "dev.outboxkit.relay.internal.cdc.."
  };

  /**
   * The relay's API reaches the two modes through one factory: one class of the root package
   * depends on the mode packages, whichever it is. The other API packages stay out of them, except
   * the CDC API package ({@code CdcOptions}, {@code CdcSchema}, the Connect transform), which
   * shares its connector knowledge and decoder with the CDC mode.
   */
  @Test
  void theRelayApiReachesTheModesThroughOneFactory() {
    Set<String> reaching = new TreeSet<>();
    for (JavaClass type : CLASSES) {
      if (type.getPackageName().equals("dev.outboxkit.relay")
          && type.getDirectDependenciesFromSelf().stream()
              .anyMatch(d -> resideInAnyPackage(MODE_PACKAGES).test(d.getTargetClass()))) {
        String name = type.getName();
        reaching.add(name.contains("$") ? name.substring(0, name.indexOf('$')) : name);
      }
    }
    assertThat(reaching)
        .as("classes of dev.outboxkit.relay that reach a mode")
        .hasSizeLessThanOrEqualTo(1);
    noClasses()
        .that()
        .resideInAPackage("dev.outboxkit.relay..")
        .and()
        .resideOutsideOfPackages(
            "dev.outboxkit.relay",
            "dev.outboxkit.relay.cdc",
            "dev.outboxkit.relay.internal..",
            "dev.outboxkit.relay.app..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(MODE_PACKAGES)
        .check(CLASSES);
  }

  /**
   * No public type of an API package (any package of ours that is not an {@code internal} one) has
   * a type of an internal package in its public signature: its supertypes, and the types of its
   * public and protected fields, parameters, results and exceptions, type arguments included.
   * Implementation types may be public inside an internal package (Debezium loads {@code
   * DatabaseOffsetStore} by name); users never need to name one.
   */
  @Test
  void apiPackagesExposeNoImplementation() {
    API_PACKAGES_EXPOSE_NO_IMPLEMENTATION.check(CLASSES);
  }

  static boolean isInternal(String packageName) {
    return packageName.endsWith(".internal") || packageName.contains(".internal.");
  }

  static final ArchRule API_PACKAGES_EXPOSE_NO_IMPLEMENTATION =
      publicApiTypes()
          .should(
              exposeNoTypeThat(
                  "expose no type of an internal package",
                  used ->
                      used.getPackageName().startsWith("dev.outboxkit.")
                          && isInternal(used.getPackageName())));

  /**
   * Resilience4j is how the relay implements its circuit breaker, not part of its API: no public
   * signature of an API package names one of its types (the relay's {@code RelayConfig} has its own
   * {@code CircuitBreaker} value; the internal packages map it to Resilience4j's configuration).
   */
  @Test
  void apiPackagesExposeNoResilience4jType() {
    API_PACKAGES_EXPOSE_NO_RESILIENCE4J.check(CLASSES);
  }

  static final ArchRule API_PACKAGES_EXPOSE_NO_RESILIENCE4J =
      publicApiTypes()
          .should(
              exposeNoTypeThat(
                  "expose no Resilience4j type",
                  used -> used.getPackageName().startsWith("io.github.resilience4j")));

  /** The types of every API package of ours: any package that is not an internal one. */
  private static com.tngtech.archunit.lang.syntax.elements.GivenClassesConjunction
      publicApiTypes() {
    return classes()
        .that()
        .resideInAPackage("dev.outboxkit..")
        .and()
        .resideOutsideOfPackage("..internal..")
        .and()
        .arePublic();
  }

  /**
   * A public type (public all the way out) names no {@code forbidden} type in its public signature:
   * its supertypes, and the types of its public and protected fields, parameters, results and
   * exceptions, type arguments included.
   */
  private static ArchCondition<JavaClass> exposeNoTypeThat(
      String description, java.util.function.Predicate<JavaClass> forbidden) {
    return new ArchCondition<JavaClass>(description) {
      @Override
      public void check(JavaClass type, ConditionEvents events) {
        for (JavaClass outer = type; outer != null; ) {
          if (!outer.getModifiers().contains(JavaModifier.PUBLIC)) {
            return; // not reachable from outside its package
          }
          outer = outer.getEnclosingClass().orElse(null);
        }
        type.getSuperclass()
            .ifPresent(t -> report(type, "its superclass", t.getAllInvolvedRawTypes(), events));
        type.getInterfaces()
            .forEach(t -> report(type, "an interface", t.getAllInvolvedRawTypes(), events));
        for (JavaMember member : type.getMembers()) {
          if (member.getModifiers().contains(JavaModifier.SYNTHETIC)
              || !(member.getModifiers().contains(JavaModifier.PUBLIC)
                  || member.getModifiers().contains(JavaModifier.PROTECTED))) {
            continue;
          }
          String where = member.getFullName();
          if (member instanceof JavaField field) {
            report(type, where, field.getType().getAllInvolvedRawTypes(), events);
          } else if (member instanceof JavaCodeUnit code) {
            report(type, where, code.getReturnType().getAllInvolvedRawTypes(), events);
            code.getParameterTypes()
                .forEach(t -> report(type, where, t.getAllInvolvedRawTypes(), events));
            code.getThrowsClause().getTypes().forEach(t -> report(type, where, Set.of(t), events));
          }
        }
      }

      private void report(
          JavaClass type, String where, Set<JavaClass> involved, ConditionEvents events) {
        for (JavaClass used : involved) {
          if (forbidden.test(used)) {
            events.add(
                SimpleConditionEvent.violated(
                    type, type.getName() + " exposes " + used.getName() + " in " + where));
          }
        }
      }
    };
  }

  /**
   * The Kafka package is reached only by the two modes and the Connect transform, and its public
   * methods hand out interfaces or Kafka's own types: the publisher and its delegates stay hidden
   * behind the factory, and both modes and the transform build identical records by construction.
   */
  @Test
  void theKafkaPackageIsReachedOnlyThroughInterfaces() {
    noClasses()
        .that()
        .resideOutsideOfPackages("dev.outboxkit.relay.internal.kafka..", "dev.outboxkit.relay.cdc")
        .and()
        .resideOutsideOfPackages(MODE_PACKAGES)
        .should()
        .dependOnClassesThat()
        .resideInAPackage("dev.outboxkit.relay.internal.kafka..")
        .check(CLASSES);
    methods()
        .that()
        .areDeclaredInClassesThat()
        .resideInAPackage("dev.outboxkit.relay.internal.kafka..")
        .and()
        .areDeclaredInClassesThat()
        .arePublic()
        .and()
        .arePublic()
        .should()
        .haveRawReturnType(
            JavaClass.Predicates.INTERFACES.or(resideInAnyPackage("org.apache.kafka..")))
        .check(CLASSES);
  }

  /**
   * Spring MVC, the servlet API and the Kafka client are optional dependencies of the idempotency
   * module: its root package, which every user loads, names none of them (they live in its {@code
   * web} and {@code kafka} packages).
   */
  @Test
  void idempotencysRootPackageNeedsNoOptionalDependency() {
    noClasses()
        .that()
        .resideInAPackage("dev.outboxkit.idempotency")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "org.springframework.web..",
            "org.springframework.http..",
            "jakarta.servlet..",
            "org.apache.kafka..")
        .check(CLASSES);
  }

  /**
   * The root package of each module; a module's {@code internal} packages are its own. Listed
   * explicitly because {@code dev.outboxkit.relay.app} (the relay application) is a module of its
   * own inside the relay's package name.
   */
  static final List<String> MODULE_ROOTS =
      List.of(
          "dev.outboxkit.outbox",
          "dev.outboxkit.relay",
          "dev.outboxkit.relay.app",
          "dev.outboxkit.idempotency",
          "dev.outboxkit.spring",
          "dev.outboxkit.test");

  /**
   * A module uses another module only through its published types: no class reaches into another
   * module's {@code ..internal..} packages, however it names them (import or fully qualified), and
   * no class is exempt by name.
   */
  @Test
  void noModuleUsesAnotherModulesInternals() {
    NO_MODULE_USES_ANOTHER_MODULES_INTERNALS.check(CLASSES);
  }

  static final ArchRule NO_MODULE_USES_ANOTHER_MODULES_INTERNALS =
      classes()
          .that()
          .resideInAPackage("dev.outboxkit..")
          .should(
              new ArchCondition<JavaClass>("use no other module's internal packages") {
                @Override
                public void check(JavaClass type, ConditionEvents events) {
                  String module = moduleOf(type.getPackageName());
                  for (Dependency dependency : type.getDirectDependenciesFromSelf()) {
                    String target = dependency.getTargetClass().getPackageName();
                    String targetModule = moduleOf(target);
                    if (!targetModule.equals(module)
                        && (target.equals(targetModule + ".internal")
                            || target.startsWith(targetModule + ".internal."))) {
                      events.add(
                          SimpleConditionEvent.violated(
                              dependency,
                              "module "
                                  + module
                                  + " uses "
                                  + targetModule
                                  + "'s internals: "
                                  + dependency.getDescription()));
                    }
                  }
                }
              });

  /** The longest module root that contains the package, or the package itself when none does. */
  static String moduleOf(String packageName) {
    String module = packageName;
    int longest = -1;
    for (String root : MODULE_ROOTS) {
      if ((packageName.equals(root) || packageName.startsWith(root + "."))
          && root.length() > longest) {
        module = root;
        longest = root.length();
      }
    }
    return module;
  }

  /**
   * The relay's components by package: {@code relay.X} and {@code relay.internal.X} are one
   * component X (the CDC API's options and transform with the CDC mode they configure), {@code
   * relay.internal} itself is one; the root package, which wires them, is left out.
   */
  static final SliceAssignment RELAY_COMPONENTS =
      new SliceAssignment() {
        private static final String RELAY = "dev.outboxkit.relay.";

        @Override
        public SliceIdentifier getIdentifierOf(JavaClass type) {
          String packageName = type.getPackageName();
          if (!packageName.startsWith(RELAY)) {
            return SliceIdentifier.ignore();
          }
          String[] parts = packageName.substring(RELAY.length()).split("\\.");
          return SliceIdentifier.of(
              parts[0].equals("internal") && parts.length > 1 ? parts[1] : parts[0]);
        }

        @Override
        public String getDescription() {
          return "the relay's components (an API package with its internal implementation)";
        }
      };

  @Test
  void theRelaysPackagesHaveNoCycles() {
    slices().assignedFrom(RELAY_COMPONENTS).should().beFreeOfCycles().check(CLASSES);
  }
}
