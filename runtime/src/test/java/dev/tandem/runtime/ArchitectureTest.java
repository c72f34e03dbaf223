package dev.tandem.runtime;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.Location;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * Enforces the runtime's place in the architecture: it runs on any JVM, alone, and ships in {@code tandem package}
 * bundles. So nothing in {@code dev.tandem.runtime} may depend on the trainer, the CUDA backend, the server or the
 * CLI; its build output holds nothing but runtime classes; and it uses no JDK module beyond those a bundle links.
 */
class ArchitectureTest {

    /**
     * Everything in the runtime's build output (its classes folder, or its jar), whatever the package: the rules
     * below see a class that does not belong there too.
     */
    private static final JavaClasses RUNTIME_CLASSES = new ClassFileImporter().importLocations(List.of(
            Location.of(Model.class.getProtectionDomain().getCodeSource().getLocation())));

    /** Class name → its named module, or "" (the class path); dependencies repeat, loading them once is enough. */
    private static final Map<String, String> MODULES = new ConcurrentHashMap<>();

    /** The classes that may use java.desktop: ImageIO decoding and the BufferedImage overloads of the API. */
    private static final String[] AWT_USERS = {"dev.tandem.runtime.classify.AwtImages",
        "dev.tandem.runtime.classify.Classifier", "dev.tandem.runtime.classify.ImageSpec"};

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

    @Test
    void theRuntimeArtifactHoldsOnlyRuntimeClasses() {
        classes().should().resideInAPackage("dev.tandem.runtime..")
                .because("the runtime jar ships to devices alone: no training, CUDA, server or CLI code may be in it")
                .check(RUNTIME_CLASSES);
        // The rule above passes on an empty import too: make sure the runtime was found.
        org.assertj.core.api.Assertions.assertThat(RUNTIME_CLASSES.contain(Model.class)).isTrue();
    }

    @Test
    void runtimeUsesOnlyTheJdkModulesABundleLinks() {
        // tandem package links java.base and jdk.incubator.vector (+ java.logging and jdk.unsupported for
        // protobuf-java); java.desktop only on request. A new module here must be added to Bundler.MODULES.
        noClasses().that().resideInAPackage("dev.tandem.runtime..")
                .should().dependOnClassesThat(inJdkModuleOtherThan(Set.of("java.base", "jdk.incubator.vector",
                        "java.desktop")))
                .because("a tandem package bundle links only java.base and jdk.incubator.vector for the runtime")
                .check(RUNTIME_CLASSES);
        noClasses().that().resideInAPackage("dev.tandem.runtime..")
                .and().doNotHaveFullyQualifiedName(AWT_USERS[0])
                .and().doNotHaveFullyQualifiedName(AWT_USERS[1])
                .and().doNotHaveFullyQualifiedName(AWT_USERS[2])
                .should().dependOnClassesThat(inJdkModuleOtherThan(Set.of("java.base", "jdk.incubator.vector")))
                .because("bundles have no java.desktop by default; image decoding through ImageIO stays in "
                        + "AwtImages (Classifier and ImageSpec only name BufferedImage in their API)")
                .check(RUNTIME_CLASSES);
    }

    private static DescribedPredicate<JavaClass> inJdkModuleOtherThan(Set<String> allowed) {
        return DescribedPredicate.describe("are in a JDK module other than " + allowed, c -> {
            JavaClass base = c.isArray() ? c.getBaseComponentType() : c;
            if (base.isPrimitive()) {
                return false;
            }
            String module = moduleOf(base.getName());
            return module != null && !allowed.contains(module);
        });
    }

    /** The named module a class is in, or null (the class path: protobuf-java, Tandem itself). */
    private static String moduleOf(String className) {
        String m = MODULES.computeIfAbsent(className, n -> {
            if (n.startsWith("dev.tandem.") || n.startsWith("com.google.protobuf.")) {
                return "";
            }
            try {
                Module module = Class.forName(n, false, ArchitectureTest.class.getClassLoader()).getModule();
                return module.isNamed() ? module.getName() : "";
            } catch (ClassNotFoundException | LinkageError e) {
                return "";
            }
        });
        return m.isEmpty() ? null : m;
    }
}
