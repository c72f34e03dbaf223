package dev.tandem.runtime.plan;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The greedy-by-size arena planner (as in TFLite's and ONNX Runtime's planners): buffers are placed largest first,
 * each at the lowest aligned offset where it overlaps no already-placed buffer that is alive at the same time.
 * Large buffers then pack tightly and small ones fill the gaps; on CNNs the arena comes close to the largest
 * simultaneous live set.
 */
public final class GreedyBySizePlanner implements MemoryPlanner {
    @Override
    public long[] place(List<BufferRequest> requests, int alignment) {
        if (Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two: " + alignment);
        }
        int n = requests.size();
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, Comparator.<Integer>comparingLong(i -> requests.get(i).bytes()).reversed()
                .thenComparingInt(i -> requests.get(i).first()).thenComparingInt(i -> i));
        long[] offsets = new long[n];
        List<Integer> placed = new ArrayList<>();
        List<long[]> busy = new ArrayList<>();
        for (int idx : order) {
            BufferRequest r = requests.get(idx);
            busy.clear();
            for (int p : placed) {
                if (requests.get(p).overlapsInTime(r)) {
                    busy.add(new long[] {offsets[p], offsets[p] + requests.get(p).bytes()});
                }
            }
            busy.sort(Comparator.comparingLong(a -> a[0]));
            long candidate = 0;
            for (long[] b : busy) {
                if (candidate + r.bytes() <= b[0]) {
                    break;
                }
                candidate = Math.max(candidate, align(b[1], alignment));
            }
            offsets[idx] = candidate;
            placed.add(idx);
        }
        return offsets;
    }

    private static long align(long x, int a) {
        return (x + a - 1) & -(long) a;
    }
}
