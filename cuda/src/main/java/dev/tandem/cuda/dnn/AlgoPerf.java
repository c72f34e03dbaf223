package dev.tandem.cuda.dnn;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

/**
 * One entry of cuDNN's algorithm ranking ({@code cudnnConvolutionFwdAlgoPerf_t} and its backward twins, which
 * share one layout): {@code {int algo; int status; float time; size_t memory; int determinism; int mathType;
 * int reserved[3];}}, 48 bytes on 64-bit Linux.
 *
 * @param algo the algorithm's enum value
 * @param status 0 when usable for the given shapes
 * @param time measured milliseconds (-1 from heuristics)
 * @param memory workspace bytes it needs
 * @param deterministic whether results are bit-reproducible
 * @param mathType the math type it runs with (set it on the descriptor before running)
 */
public record AlgoPerf(int algo, int status, float time, long memory, boolean deterministic, int mathType) {
    /** The C struct's layout (natural alignment: 4 bytes of padding before {@code memory} and at the end). */
    public static final StructLayout LAYOUT = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("algo"),
            ValueLayout.JAVA_INT.withName("status"),
            ValueLayout.JAVA_FLOAT.withName("time"),
            MemoryLayout.paddingLayout(4),
            ValueLayout.JAVA_LONG.withName("memory"),
            ValueLayout.JAVA_INT.withName("determinism"),
            ValueLayout.JAVA_INT.withName("mathType"),
            MemoryLayout.sequenceLayout(3, ValueLayout.JAVA_INT).withName("reserved"),
            MemoryLayout.paddingLayout(4));

    private static final long ALGO = LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("algo"));
    private static final long STATUS = LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("status"));
    private static final long TIME = LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("time"));
    private static final long MEMORY = LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("memory"));
    private static final long DETERMINISM = LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("determinism"));
    private static final long MATH = LAYOUT.byteOffset(MemoryLayout.PathElement.groupElement("mathType"));

    /** The first {@code count} entries of an array of the C structs. */
    public static AlgoPerf[] read(MemorySegment array, int count) {
        AlgoPerf[] out = new AlgoPerf[count];
        for (int i = 0; i < count; i++) {
            MemorySegment s = array.asSlice(i * LAYOUT.byteSize(), LAYOUT.byteSize());
            out[i] = new AlgoPerf(s.get(ValueLayout.JAVA_INT, ALGO), s.get(ValueLayout.JAVA_INT, STATUS),
                    s.get(ValueLayout.JAVA_FLOAT, TIME), s.get(ValueLayout.JAVA_LONG, MEMORY),
                    s.get(ValueLayout.JAVA_INT, DETERMINISM) == 1, s.get(ValueLayout.JAVA_INT, MATH));
        }
        return out;
    }

    /**
     * The first usable entry (status 0) whose workspace fits {@code maxWorkspace}, preferring deterministic ones
     * when {@code deterministic} is asked for.
     */
    public static AlgoPerf choose(AlgoPerf[] ranked, long maxWorkspace, boolean deterministic, String what) {
        return choose(ranked, maxWorkspace, deterministic, what, ANY);
    }

    private static final java.util.function.Predicate<AlgoPerf> ANY = p -> true;

    /** As {@link #choose(AlgoPerf[], long, boolean, String)} among the entries {@code allowed} accepts. */
    public static AlgoPerf choose(AlgoPerf[] ranked, long maxWorkspace, boolean deterministic, String what,
                                  java.util.function.Predicate<AlgoPerf> allowed) {
        AlgoPerf fallback = null;
        for (AlgoPerf p : ranked) {
            if (p.status() != 0 || p.memory() > maxWorkspace || !allowed.test(p)) {
                continue;
            }
            if (!deterministic || p.deterministic()) {
                return p;
            }
            if (fallback == null) {
                fallback = p;
            }
        }
        if (fallback != null) {
            return fallback;
        }
        if (allowed != ANY) {
            return choose(ranked, maxWorkspace, deterministic, what, ANY); // nothing allowed fits: the best usable
        }
        throw new dev.tandem.cuda.CudaException("cuDNN offers no usable " + what + " algorithm within "
                + maxWorkspace + " bytes of workspace (ranking: " + java.util.Arrays.toString(ranked) + ")");
    }
}
