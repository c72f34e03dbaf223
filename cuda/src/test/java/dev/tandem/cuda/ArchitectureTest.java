package dev.tandem.cuda;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The CUDA backend builds on the runtime only: the trainer and the CLI find it through {@code ServiceLoader}
 * ({@code dev.tandem.runtime.backend.BackendProvider}), never the other way round.
 */
class ArchitectureTest {
    private static final JavaClasses CUDA = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.tandem.cuda");

    @Test
    void cudaDependsOnTheRuntimeOnly() {
        noClasses().that().resideInAPackage("dev.tandem.cuda..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.tandem.train..", "dev.tandem.serve..",
                        "dev.tandem.cli..", "dev.tandem.bench..")
                .because("the GPU backend plugs into the runtime's interfaces and must not pull in the trainer, "
                        + "the server or the CLI")
                .check(CUDA);
    }
}
