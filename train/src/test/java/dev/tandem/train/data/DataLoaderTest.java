package dev.tandem.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DataLoaderTest {
    static final ByteDataset DATA = TestFiles.random(103, 1);
    static final int SAMPLE = DATA.sampleSize();

    /** A batch copied out of the loader's buffers. */
    record Copy(int epoch, int index, float[] data, long[] labels, int[] indices) {
        static Copy of(Batch b) {
            return new Copy(b.epoch(), b.index(), Arrays.copyOf(b.data(), b.size() * SAMPLE),
                    Arrays.copyOf(b.labels(), b.size()), Arrays.copyOf(b.indices(), b.size()));
        }

        void assertSameAs(Copy o) {
            assertThat(new int[] {epoch, index}).containsExactly(o.epoch, o.index);
            assertThat(indices).containsExactly(o.indices);
            assertThat(labels).containsExactly(o.labels);
            assertThat(data).containsExactly(o.data);
        }
    }

    static DataLoader.Builder augmenting(Dataset d, int workers) {
        return DataLoader.builder(d).batchSize(16).shuffle(true).seed(42).workers(workers)
                .transforms(new RandomCrop(1), new RandomHorizontalFlip(0.5),
                        new Normalize(new float[] {0.5f}, new float[] {0.25f}));
    }

    static List<Copy> run(DataLoader loader, int epoch, int start) {
        List<Copy> out = new ArrayList<>();
        try (DataLoader.Epoch e = loader.epoch(epoch, start)) {
            while (e.hasNext()) {
                out.add(Copy.of(e.next()));
            }
        }
        return out;
    }

    @Test
    void anEpochVisitsEverySampleOnceInFullBatchesAndOnePartial() {
        try (DataLoader loader = DataLoader.builder(DATA).batchSize(10).shuffle(true).seed(3).workers(2).build()) {
            assertThat(loader.batchesPerEpoch()).isEqualTo(11);
            List<Copy> batches = run(loader, 0, 0);
            assertThat(batches).hasSize(11);
            assertThat(batches.getLast().labels()).hasSize(3);
            Set<Integer> seen = new HashSet<>();
            float[] x = new float[SAMPLE];
            for (Copy b : batches) {
                for (int j = 0; j < b.indices().length; j++) {
                    int idx = b.indices()[j];
                    assertThat(seen.add(idx)).isTrue();
                    assertThat(b.labels()[j]).isEqualTo(DATA.label(idx));
                    DATA.read(idx, x, 0);
                    assertThat(Arrays.copyOfRange(b.data(), j * SAMPLE, (j + 1) * SAMPLE)).containsExactly(x);
                }
            }
            assertThat(seen).hasSize(103);
            assertThat(run(loader, 1, 0).getFirst().indices()).isNotEqualTo(batches.getFirst().indices());
        }
        try (DataLoader loader = DataLoader.builder(DATA).batchSize(10).dropLast(true).workers(0).build()) {
            List<Copy> batches = run(loader, 0, 0);
            assertThat(batches).hasSize(10);
            assertThat(batches.get(2).indices()).containsExactly(20, 21, 22, 23, 24, 25, 26, 27, 28, 29);
        }
    }

    @Test
    void batchesAreTheSameWhateverTheThreadCount() {
        List<List<Copy>> runs = new ArrayList<>();
        for (int workers : new int[] {1, 3, 0}) {
            try (DataLoader loader = augmenting(DATA, workers).prefetch(workers == 1 ? 1 : 4).build()) {
                List<Copy> all = new ArrayList<>(run(loader, 0, 0));
                all.addAll(run(loader, 1, 0));
                runs.add(all);
            }
        }
        assertThat(runs.getFirst()).hasSize(14);
        for (List<Copy> other : runs.subList(1, 3)) {
            for (int i = 0; i < 14; i++) {
                runs.getFirst().get(i).assertSameAs(other.get(i));
            }
        }
        // the augmentation did something, and differs between epochs
        float[] plain = new float[SAMPLE];
        Copy first = runs.getFirst().getFirst();
        DATA.read(first.indices()[0], plain, 0);
        assertThat(Arrays.copyOf(first.data(), SAMPLE)).isNotEqualTo(plain);
    }

    @Test
    void aSamplesAugmentationDependsOnlyOnSeedEpochAndIndex() {
        float[][] bySize = new float[2][];
        int[] batchSizes = {7, 50};
        for (int k = 0; k < 2; k++) {
            try (DataLoader loader = augmenting(DATA, 2).batchSize(batchSizes[k]).build()) {
                for (Copy b : run(loader, 5, 0)) {
                    for (int j = 0; j < b.indices().length; j++) {
                        if (b.indices()[j] == 17) {
                            bySize[k] = Arrays.copyOfRange(b.data(), j * SAMPLE, (j + 1) * SAMPLE);
                        }
                    }
                }
            }
        }
        assertThat(bySize[1]).containsExactly(bySize[0]);
    }

    @Test
    void resumingAtABatchGivesTheBatchesOfAnUninterruptedRun() {
        try (DataLoader loader = augmenting(DATA, 2).build()) {
            List<Copy> full = run(loader, 3, 0);
            List<Copy> resumed = run(loader, 3, 4);
            assertThat(resumed).hasSize(full.size() - 4);
            for (int i = 0; i < resumed.size(); i++) {
                full.get(i + 4).assertSameAs(resumed.get(i));
            }
            assertThat(run(loader, 3, 7)).isEmpty();
            assertThatThrownBy(() -> loader.epoch(3, 8)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void aWorkersExceptionSurfacesInTheConsumer() {
        Dataset failing = new Wrapper(DATA) {
            @Override
            public void read(int index, float[] dst, int off) {
                if (index == 50) {
                    throw new DataFormatException("sample 50 is broken");
                }
                super.read(index, dst, off);
            }
        };
        for (int workers : new int[] {0, 2}) {
            try (DataLoader loader = DataLoader.builder(failing).batchSize(10).workers(workers).build()) {
                DataLoader.Epoch e = loader.epoch(0);
                for (int b = 0; b < 5; b++) {
                    assertThat(e.next().index()).isEqualTo(b);
                }
                assertThatThrownBy(e::next).isInstanceOf(DataFormatException.class).hasMessage("sample 50 is broken");
                assertThatThrownBy(e::next).isInstanceOf(IllegalStateException.class);
            }
        }
    }

    @Test
    void prefetchIsBoundedAndCloseStopsTheThreads() throws Exception {
        AtomicInteger reads = new AtomicInteger();
        Dataset counting = new Wrapper(DATA) {
            @Override
            public void read(int index, float[] dst, int off) {
                reads.incrementAndGet();
                super.read(index, dst, off);
            }
        };
        int before = dataThreads();
        DataLoader loader = DataLoader.builder(counting).batchSize(5).workers(3).prefetch(2).build();
        DataLoader.Epoch e = loader.epoch(0);
        e.next();
        awaitThenHold(reads, 3 * 5); // the batch in hand and 2 ahead, no more
        e.next();
        awaitThenHold(reads, 4 * 5);
        assertThat(dataThreads()).isEqualTo(before + 3);
        loader.close();
        loader.close();
        assertThat(dataThreads()).isEqualTo(before);
        assertThatThrownBy(e::next).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> loader.epoch(1)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void openingAnEpochEndsThePreviousOne() {
        try (DataLoader loader = DataLoader.builder(DATA).batchSize(10).workers(1).build()) {
            DataLoader.Epoch a = loader.epoch(0);
            a.next();
            DataLoader.Epoch b = loader.epoch(1);
            assertThatThrownBy(a::next).isInstanceOf(IllegalStateException.class);
            assertThat(b.next().epoch()).isEqualTo(1);
        }
    }

    /** Waits (up to 10 s) for the count to reach n, then checks that it stays there a while. */
    private static void awaitThenHold(AtomicInteger count, int n) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (count.get() < n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        Thread.sleep(100);
        assertThat(count.get()).isEqualTo(n);
    }

    private static int dataThreads() {
        return (int) Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("tandem-data-") && t.isAlive()).count();
    }

    /** Delegates everything to a dataset; tests override what they watch. */
    static class Wrapper implements Dataset {
        final Dataset d;

        Wrapper(Dataset d) {
            this.d = d;
        }

        @Override
        public int size() {
            return d.size();
        }

        @Override
        public int channels() {
            return d.channels();
        }

        @Override
        public int height() {
            return d.height();
        }

        @Override
        public int width() {
            return d.width();
        }

        @Override
        public List<String> classes() {
            return d.classes();
        }

        @Override
        public void read(int index, float[] dst, int off) {
            d.read(index, dst, off);
        }

        @Override
        public int label(int index) {
            return d.label(index);
        }
    }
}
