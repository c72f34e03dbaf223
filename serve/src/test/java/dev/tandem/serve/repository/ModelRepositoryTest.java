package dev.tandem.serve.repository;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.graph.Attribute;
import dev.tandem.runtime.graph.Graph;
import dev.tandem.runtime.graph.Node;
import dev.tandem.runtime.graph.TensorType;
import dev.tandem.runtime.graph.Value;
import dev.tandem.runtime.onnx.OnnxWriter;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import dev.tandem.serve.ServeException;
import dev.tandem.serve.batch.BatchPolicy;
import dev.tandem.serve.batch.InferJob;
import dev.tandem.serve.batch.TensorData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Versions and their lifetimes, without HTTP: leases keep a replaced version alive until the last one ends. */
class ModelRepositoryTest {
    @TempDir
    Path root;

    /** x[batch,2] → Mul(k) → y: version k multiplies by k. */
    private void write(long version) throws IOException {
        try (Graph g = new Graph()) {
            g.opsets().put("", 17);
            Value x = g.value("x");
            x.setDeclared(new TensorType(DType.FLOAT32, 1, new long[] {-1, 2}, new String[] {"batch", null}));
            g.inputs().add(x);
            Value k = g.value("k");
            k.setConstant(Tensor.ofFloats(Shape.of(1), version));
            Value y = g.value("y");
            y.setDeclared(new TensorType(DType.FLOAT32, 1, new long[] {-1, 2}, new String[] {"batch", null}));
            g.add(new Node("mul", "Mul", "", List.of(x, k), List.of(y), Map.<String, Attribute>of()));
            g.outputs().add(y);
            Path f = root.resolve("m").resolve(Long.toString(version)).resolve("model.onnx");
            Files.createDirectories(f.getParent());
            OnnxWriter.write(g, f);
        }
    }

    private static float run(LoadedVersion v) throws Exception {
        InferJob job = new InferJob(Map.of("x", new TensorData("x", DType.FLOAT32, Shape.of(1, 2),
                new float[] {1, 1})), null, "k", 1, System.nanoTime() + TimeUnit.SECONDS.toNanos(10));
        v.submit(job);
        return ((float[]) job.result().get(10, TimeUnit.SECONDS).getFirst().data())[0];
    }

    /** The job's own reference is dropped by the batch worker just after it answers: closing may lag a moment. */
    private static void assertClosesSoon(LoadedVersion v) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!v.isClosed() && System.nanoTime() < until) {
            Thread.sleep(1);
        }
        assertThat(v.isClosed()).isTrue();
    }

    @Test
    void aRequestStartedOnAVersionFinishesOnItAndTheVersionClosesWhenIdle() throws Exception {
        write(1);
        try (ModelRepository repo = new ModelRepository(root, Model.Options.defaults().withThreads(1),
                BatchPolicy.defaults(), null)) {
            assertThat(repo.reload().events()).extracting(ReloadReport.Event::action)
                    .containsExactly(ReloadReport.Action.LOADED);
            LoadedVersion.Lease old = repo.acquire("m", null);
            assertThat(run(old.version())).isEqualTo(1f);

            write(2);
            ReloadReport swap = repo.reload();
            assertThat(swap.events()).extracting(ReloadReport.Event::action)
                    .containsExactly(ReloadReport.Action.LOADED, ReloadReport.Action.UNLOADED);
            // New requests go to version 2; the one holding version 1 still runs on it.
            try (LoadedVersion.Lease now = repo.acquire("m", null)) {
                assertThat(now.version().version()).isEqualTo(2);
                assertThat(run(now.version())).isEqualTo(2f);
            }
            assertThat(old.version().retired()).isTrue();
            assertThat(old.version().lease()).as("a retired version hands out no lease").isNull();
            assertThat(old.version().isClosed()).isFalse();
            assertThat(run(old.version())).isEqualTo(1f);
            assertThat(repo.openVersions()).isEqualTo(2);
            old.close();
            old.close();
            assertClosesSoon(old.version());
            assertThat(repo.openVersions()).isEqualTo(1);

            assertThatThrownBy(() -> repo.acquire("m", 1L)).isInstanceOf(ServeException.class)
                    .hasMessageContaining("Version 1 of model 'm' is not loaded; version 2 serves");
            assertThatThrownBy(() -> repo.acquire("x", null)).isInstanceOf(ServeException.class)
                    .hasMessageContaining("Unknown model 'x'; models: [m]");
        }
    }

    @Test
    void closingTheRepositoryClosesEveryVersionOnceIdle() throws Exception {
        write(3);
        ModelRepository repo = new ModelRepository(root, Model.Options.defaults().withThreads(1),
                BatchPolicy.defaults(), null);
        repo.reload();
        LoadedVersion.Lease lease = repo.acquire("m", 3L);
        repo.close();
        assertThat(lease.version().isClosed()).isFalse();
        assertThat(run(lease.version())).isEqualTo(3f);
        lease.close();
        assertClosesSoon(lease.version());
        assertThat(repo.openVersions()).isZero();
        assertThatThrownBy(repo::reload).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aVersionOverTheMemoryBudgetAtTheMaxBatchIsRefusedAtLoadWithTheNumbers() throws Exception {
        write(1);
        BatchPolicy policy = new BatchPolicy(16, java.time.Duration.ofMillis(1), 8);
        long needed;
        try (Model m = Model.load(root.resolve("m/1/model.onnx"), Model.Options.defaults().withThreads(1))) {
            needed = m.weightBytes() + m.plan(Map.of("x", Shape.of(16, 2))).arenaBytes();
            // Batch 1 alone would fit the budget below: the check is at the policy's largest batch.
            assertThat(m.weightBytes() + m.plan(Map.of("x", Shape.of(1, 2))).arenaBytes()).isLessThan(needed);
        }
        try (ModelRepository repo = new ModelRepository(root,
                Model.Options.defaults().withThreads(1).withMaxMemory(needed - 1), policy, null)) {
            repo.reload();
            assertThat(repo.status("m").serving()).isNull();
            assertThat(repo.status("m").failed().get(1L)).contains("needs " + needed + " bytes",
                    "budget is " + (needed - 1) + " bytes", "x [16, 2]");
        }
        try (ModelRepository repo = new ModelRepository(root,
                Model.Options.defaults().withThreads(1).withMaxMemory(needed), policy, null)) {
            repo.reload();
            assertThat(repo.status("m").serving()).isEqualTo(1L);
        }
    }

    @Test
    void foldersThatAreNotModelsOrVersionsAreIgnored() throws Exception {
        write(1);
        Files.createDirectories(root.resolve(".hidden").resolve("1"));
        Files.createDirectories(root.resolve("m").resolve("latest"));
        Files.createDirectories(root.resolve("m").resolve("0"));
        Files.createDirectories(root.resolve("m").resolve("7"));
        Files.writeString(root.resolve("README"), "not a model");
        try (ModelRepository repo = new ModelRepository(root, Model.Options.defaults().withThreads(1),
                BatchPolicy.defaults(), null)) {
            repo.reload();
            assertThat(repo.modelNames()).containsExactly("m");
            assertThat(repo.status("m").versions()).containsExactly(1L);
        }
    }
}
