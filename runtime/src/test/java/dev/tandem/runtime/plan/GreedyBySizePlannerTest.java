package dev.tandem.runtime.plan;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GreedyBySizePlannerTest {
    private final MemoryPlanner planner = new GreedyBySizePlanner();

    @Test
    void buffersAliveTogetherNeverOverlapAndOffsetsAreAligned() {
        Random r = new Random(7);
        for (int trial = 0; trial < 200; trial++) {
            List<BufferRequest> reqs = new ArrayList<>();
            int n = 1 + r.nextInt(40);
            for (int i = 0; i < n; i++) {
                int first = r.nextInt(30);
                reqs.add(new BufferRequest(r.nextInt(5000), first, first + r.nextInt(8)));
            }
            long[] off = planner.place(reqs, 64);
            for (int i = 0; i < n; i++) {
                assertThat(off[i] % 64).isZero();
                for (int j = i + 1; j < n; j++) {
                    BufferRequest a = reqs.get(i), b = reqs.get(j);
                    if (a.overlapsInTime(b) && a.bytes() > 0 && b.bytes() > 0) {
                        boolean disjoint = off[i] + a.bytes() <= off[j] || off[j] + b.bytes() <= off[i];
                        assertThat(disjoint).as("buffers %d and %d overlap", i, j).isTrue();
                    }
                }
            }
        }
    }

    @Test
    void aChainReusesMemory() {
        // A chain of 10 layers, each output read only by the next: two buffers' worth is enough.
        List<BufferRequest> reqs = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            reqs.add(new BufferRequest(1024, i, i + 1));
        }
        long[] off = planner.place(reqs, 64);
        assertThat(MemoryPlanner.arenaBytes(reqs, off)).isEqualTo(2048);
    }

    @Test
    void disjointLifetimesShareOffsetZero() {
        List<BufferRequest> reqs = List.of(new BufferRequest(100, 0, 1), new BufferRequest(300, 2, 3));
        long[] off = planner.place(reqs, 64);
        assertThat(off).containsExactly(0, 0);
        assertThat(MemoryPlanner.arenaBytes(reqs, off)).isEqualTo(300);
    }
}
