package dev.tandem.runtime;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * Enforces the module dependency rule from the architecture: the runtime runs on any JVM, alone,
 * so nothing in {@code dev.tandem.runtime} may depend on the trainer, the CUDA backend, the server
 * or the CLI (those depend on the runtime, never the other way round).
 */
class ArchitectureTest {

    private static final JavaClasses RUNTIME_CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.tandem.runtime");

    @Test
    void runtimeDependsOnNoOtherTandemModule() {
        noClasses()
                .that().resideInAPackage("dev.tandem.runtime..")
                .should().dependOnClassesThat().resideInAnyPackage(
                        "dev.tandem.train..",
                        "dev.tandem.cuda..",
                        "dev.tandem.serve..",
                        "dev.tandem.cli..")
                .because("the runtime must run on any JVM without the trainer, the GPU backend, the server or the CLI")
                .check(RUNTIME_CLASSES);
    }
}
