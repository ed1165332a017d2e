package dev.outboxkit.spring.architecture;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.simpleName;
import static com.tngtech.archunit.core.domain.properties.HasName.Predicates.name;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.methods;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The conventions of shared/STYLE.md as rules over the compiled classes of every module: which way
 * dependencies point, that the relay's API reaches its implementations only through one factory
 * (which hands over to one per mode), that implementations are not public, and that the relay's
 * packages have no cycles.
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

  @Test
  void theRelayApiReachesItsImplementationsOnlyThroughOneFactory() {
    // CdcOptions (and its builder) is a public options type that lives next to the CDC code.
    noClasses()
        .that()
        .resideInAPackage("dev.outboxkit.relay")
        .and(not(simpleName("RelayFactory")))
        .should()
        .dependOnClassesThat(
            resideInAnyPackage(
                    "dev.outboxkit.relay.internal.polling..", "dev.outboxkit.relay.internal.cdc..")
                .and(not(simpleName("CdcOptions")))
                .and(not(name("dev.outboxkit.relay.cdc.CdcOptions$Builder"))))
        .check(CLASSES);
    noClasses()
        .that()
        .resideInAPackage("dev.outboxkit.relay")
        .should()
        .dependOnClassesThat(
            resideInAnyPackage(
                    "dev.outboxkit.relay.internal.polling..", "dev.outboxkit.relay.internal.cdc..")
                .and(not(simpleName("PollingRelays")))
                .and(not(simpleName("CdcRelays")))
                .and(not(simpleName("CdcOptions")))
                .and(not(name("dev.outboxkit.relay.cdc.CdcOptions$Builder"))))
        .check(CLASSES);
  }

  @Test
  void relayImplementationsAreNotPublic() {
    classes()
        .that()
        .resideInAnyPackage(
            "dev.outboxkit.relay.internal.polling..", "dev.outboxkit.relay.internal.delivery..")
        .and()
        .areTopLevelClasses()
        .and(not(simpleName("PollingRelays")))
        .and(not(simpleName("DeliveryCore")))
        .and(not(simpleName("DeliveryOutcome")))
        .and(not(simpleName("KeyHolds")))
        .and(not(simpleName("PublishResult")))
        .and(not(simpleName("BatchSender")))
        .and(not(simpleName("ManagedBatchSender")))
        .should()
        .notHaveModifier(JavaModifier.PUBLIC)
        .check(CLASSES);
    classes()
        .that()
        .resideInAPackage("dev.outboxkit.relay.internal.cdc")
        .and()
        .areTopLevelClasses()
        .and(not(simpleName("ChangeLogSource")))
        .and(not(simpleName("ChangeDecoder")))
        // Public because something outside instantiates them by name or they are user-facing:
        // the Connect SMT, the Debezium offset store and schema history, options and schema.
        .and(not(simpleName("CdcRelays")))
        .and(not(simpleName("CdcOptions")))
        .and(not(simpleName("CdcSchema")))
        .and(not(simpleName("OutboxRecordRouter")))
        .and(not(simpleName("DatabaseOffsetStore")))
        .and(not(simpleName("DatabaseSchemaHistory")))
        .should()
        .notHaveModifier(JavaModifier.PUBLIC)
        .check(CLASSES);
  }

  /**
   * The Kafka package is reached through one factory, {@code KafkaPublishers}, whose public methods
   * return an interface; the publisher and its delegates stay package-private. {@code KafkaRecords}
   * is the one other public type: the Kafka Connect transform in the CDC package maps records with
   * it, so that both relay modes and the transform produce identical records by construction.
   */
  @Test
  void theKafkaPackageIsReachedOnlyThroughItsFactory() {
    classes()
        .that()
        .resideInAPackage("dev.outboxkit.relay.internal.kafka")
        .and()
        .areTopLevelClasses()
        .and(not(simpleName("KafkaPublishers")))
        .and(not(simpleName("KafkaRecords")))
        .should()
        .notHaveModifier(JavaModifier.PUBLIC)
        .check(CLASSES);
    methods()
        .that()
        .areDeclaredInClassesThat()
        .haveFullyQualifiedName("dev.outboxkit.relay.internal.kafka.KafkaPublishers")
        .and()
        .arePublic()
        .should()
        .haveRawReturnType(JavaClass.Predicates.INTERFACES)
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

  @Test
  void theRelaysPackagesHaveNoCycles() {
    slices().matching("dev.outboxkit.relay.(**)").should().beFreeOfCycles().check(CLASSES);
  }
}
