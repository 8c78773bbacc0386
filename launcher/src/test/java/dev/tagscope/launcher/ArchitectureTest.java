package dev.tagscope.launcher;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module rules, checked on the compiled main classes of every module (the launcher's test
 * classpath holds them all). The module graph reads top-down as the data flows (DESIGN.md
 * section 3): {@code schemas} at the bottom, then {@code tagging-core} and {@code service-core},
 * then the four services, which never use one another, then {@code validation}, then the
 * {@code launcher}. A rule broken here names the offending class and dependency.
 */
class ArchitectureTest {
  /** Root package of each module, under {@code dev.tagscope}. */
  private static final List<String> MODULE_PACKAGES =
      List.of("schemas", "tagging", "service", "embedded", "producer", "worker", "spectral", "dashboard", "validation", "launcher");

  private static JavaClasses classes;

  @BeforeAll
  static void importMainClasses() {
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages("dev.tagscope");
    // A rule over nothing would pass: make sure every module's classes are really there.
    for (String m : MODULE_PACKAGES) {
      assertTrue(classes.stream().anyMatch(c -> c.getPackageName().startsWith("dev.tagscope." + m)),
          "no main class of dev.tagscope." + m + " on the test classpath");
    }
  }

  @Test
  void noModuleUsesAnotherModulesInternalPackages() {
    for (String m : MODULE_PACKAGES) {
      noClasses().that().resideOutsideOfPackage("dev.tagscope." + m + "..")
          .should().dependOnClassesThat().resideInAPackage("dev.tagscope." + m + ".internal..")
          .because("dev.tagscope." + m + ".internal is that module's implementation, not its API")
          .check(classes);
    }
  }

  @Test
  void modulesDependTopDownAsTheDataFlows() {
    layeredArchitecture().consideringOnlyDependenciesInLayers()
        .layer("schemas").definedBy("dev.tagscope.schemas..")
        .layer("tagging-core").definedBy("dev.tagscope.tagging..")
        .layer("service-core").definedBy("dev.tagscope.service..")
        .layer("embedded-kafka").definedBy("dev.tagscope.embedded..")
        .layer("stimulus-producer").definedBy("dev.tagscope.producer..")
        .layer("inference-worker").definedBy("dev.tagscope.worker..")
        .layer("spectral-stream").definedBy("dev.tagscope.spectral..")
        .layer("dashboard").definedBy("dev.tagscope.dashboard..")
        .layer("validation").definedBy("dev.tagscope.validation..")
        .layer("launcher").definedBy("dev.tagscope.launcher..")
        .whereLayer("launcher").mayNotBeAccessedByAnyLayer()
        .whereLayer("validation").mayOnlyBeAccessedByLayers("launcher")
        .whereLayer("stimulus-producer").mayOnlyBeAccessedByLayers("validation", "launcher")
        .whereLayer("inference-worker").mayOnlyBeAccessedByLayers("validation", "launcher")
        .whereLayer("spectral-stream").mayOnlyBeAccessedByLayers("launcher")
        .whereLayer("dashboard").mayOnlyBeAccessedByLayers("launcher")
        .whereLayer("embedded-kafka").mayOnlyBeAccessedByLayers("launcher")
        // The dashboard draws a filter's spatial map with tagging-core's SpatialMap, the report's computation.
        .whereLayer("tagging-core")
        .mayOnlyBeAccessedByLayers("stimulus-producer", "spectral-stream", "dashboard", "validation", "launcher")
        .whereLayer("service-core")
        .mayOnlyBeAccessedByLayers("stimulus-producer", "inference-worker", "spectral-stream", "dashboard", "validation", "launcher")
        .check(classes);
  }

  @Test
  void theProducerDoesNotDependOnTheStreamsApplication() {
    noClasses().that().resideInAPackage("dev.tagscope.producer..")
        .should().dependOnClassesThat().resideInAnyPackage("dev.tagscope.spectral..", "org.apache.kafka.streams..")
        .because("a plan is validated by tagging-core; the producer must not drag Kafka Streams and RocksDB in")
        .check(classes);
  }

  @Test
  void taggingCoreHasNoKafkaInIt() {
    noClasses().that().resideInAPackage("dev.tagscope.tagging..")
        .should().dependOnClassesThat().resideInAPackage("org.apache.kafka..")
        .because("the method is transport-free: the stream, analyze and validate run the same code")
        .check(classes);
  }

  @Test
  void schemasDependOnNoOtherModule() {
    noClasses().that().resideInAPackage("dev.tagscope.schemas..")
        .should().dependOnClassesThat().resideInAnyPackage(MODULE_PACKAGES.stream().filter(m -> !m.equals("schemas"))
            .map(m -> "dev.tagscope." + m + "..").toArray(String[]::new))
        .because("every module reads the topic contract; the contract depends on none of them")
        .check(classes);
  }

  @Test
  void nothingIsDeserialisedWithJavaSerialisation() {
    noClasses().should().dependOnClassesThat().areAssignableTo(ObjectInputStream.class)
        .orShould().dependOnClassesThat().areAssignableTo(ObjectOutputStream.class)
        .because("bytes from a topic or a file must never reach Java deserialisation (DESIGN.md, safe by default)")
        .check(classes);
  }
}
