package dev.tandem.serve;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The server depends on the runtime and its HTTP library only: never on the trainer (a server or a device client
 * must not ship it), the CUDA backend or the CLI. Only the {@code http} package and {@link ModelServer} see Helidon.
 */
class ArchitectureTest {
    private static final JavaClasses SERVE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.tandem.serve");

    @Test
    void serveDependsOnNeitherTrainerNorCudaNorCli() {
        noClasses().that().resideInAPackage("dev.tandem.serve..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.tandem.train..", "dev.tandem.cuda..",
                        "dev.tandem.cli..")
                .because("the server and the device client run with the runtime alone")
                .check(SERVE);
    }

    @Test
    void onlyTheHttpLayerSeesTheServerLibrary() {
        noClasses().that().resideInAnyPackage("dev.tandem.serve.repository..", "dev.tandem.serve.batch..",
                        "dev.tandem.serve.metrics..", "dev.tandem.serve.client..", "dev.tandem.serve.signing..")
                .should().dependOnClassesThat().resideInAPackage("io.helidon..")
                .because("the repository, batching, metrics, the device client and signing do not depend on how "
                        + "HTTP is served (a device ships without the server library)")
                .check(SERVE);
    }
}
