package dev.tandem.train;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The trainer builds on the runtime only: the GPU backend plugs in through the runtime's interfaces, and the
 * server and the CLI sit on top. The plotting and progress libraries stay out of the model code.
 */
class ArchitectureTest {
    private static final JavaClasses TRAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.tandem.train");

    @Test
    void trainDependsOnTheRuntimeOnly() {
        noClasses().that().resideInAPackage("dev.tandem.train..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.tandem.cuda..", "dev.tandem.serve..",
                        "dev.tandem.cli..")
                .check(TRAIN);
    }

    @Test
    void reportingLibrariesStayInTheReportPackage() {
        noClasses().that().resideOutsideOfPackage("dev.tandem.train.report..")
                .should().dependOnClassesThat().resideInAnyPackage("org.knowm..", "me.tongfei..")
                .check(TRAIN);
    }
}
