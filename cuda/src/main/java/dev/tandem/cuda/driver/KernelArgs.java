package dev.tandem.cuda.driver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The arguments of one kernel launch in the form {@code cuLaunchKernel} takes them: an array of pointers, each to
 * one argument's value. Values are written into memory of the given arena, which must outlive the launch call (the
 * driver copies them when the launch is queued, so the arena may close right after).
 */
public final class KernelArgs {
    /** The C type of one argument. */
    public enum Kind {
        /** A device pointer ({@code float*}, {@code const int*}, ...): 8 bytes. */
        POINTER,
        /** {@code int} or {@code unsigned int}. */
        INT,
        /** {@code long long} or {@code size_t}. */
        LONG,
        /** {@code float}. */
        FLOAT
    }

    private final Arena arena;
    private final List<MemorySegment> values = new ArrayList<>();
    private final List<Kind> kinds = new ArrayList<>();

    /** Arguments written into {@code arena}. */
    public KernelArgs(Arena arena) {
        this.arena = arena;
    }

    /** A device pointer argument. */
    public KernelArgs pointer(long deviceAddress) {
        return add(Kind.POINTER, arena.allocateFrom(ValueLayout.JAVA_LONG, deviceAddress));
    }

    /** A device buffer's address. */
    public KernelArgs buffer(DeviceBuffer buffer) {
        return pointer(buffer.address());
    }

    /** An {@code int} argument. */
    public KernelArgs i32(int value) {
        return add(Kind.INT, arena.allocateFrom(ValueLayout.JAVA_INT, value));
    }

    /** A {@code long long} argument. */
    public KernelArgs i64(long value) {
        return add(Kind.LONG, arena.allocateFrom(ValueLayout.JAVA_LONG, value));
    }

    /** A {@code float} argument. */
    public KernelArgs f32(float value) {
        return add(Kind.FLOAT, arena.allocateFrom(ValueLayout.JAVA_FLOAT, value));
    }

    private KernelArgs add(Kind kind, MemorySegment value) {
        kinds.add(kind);
        values.add(value);
        return this;
    }

    /** The kinds given so far, in order (checked against a kernel's signature before launching). */
    public List<Kind> kinds() {
        return List.copyOf(kinds);
    }

    /** The {@code void*[]} array for {@code cuLaunchKernel}'s {@code kernelParams}. */
    public MemorySegment pointers() {
        MemorySegment array = arena.allocate(ValueLayout.ADDRESS, Math.max(1, values.size()));
        for (int i = 0; i < values.size(); i++) {
            array.setAtIndex(ValueLayout.ADDRESS, i, values.get(i));
        }
        return array;
    }
}
