package dev.tandem.train.engine;

import dev.tandem.runtime.backend.DevicePlan;
import dev.tandem.runtime.backend.DeviceSession;
import dev.tandem.runtime.plan.ExecutionPlan;
import dev.tandem.runtime.tensor.Tensor;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link DeviceSession} on the CPU for tests: every attached host tensor gets its own separate copy (the "device"
 * tensor), and plans run on those copies, so the host tensors stay stale until {@link #download()} exactly as on a
 * GPU. A caller that forgets to download reads old host values, and one that forgets to upload trains on old
 * device values. Inputs that are not attached are passed through as they are.
 */
public final class HostDeviceSession implements DeviceSession {
    private final Map<Tensor, Tensor> copies = new IdentityHashMap<>();
    private final List<Tensor> order = new ArrayList<>();
    private final List<DevicePlan> plans = new ArrayList<>();
    private int downloads;
    private int uploads;
    private int loads;
    private int runs;
    private boolean closed;

    @Override
    public String summary() {
        return "host test double";
    }

    @Override
    public void attach(Tensor host) {
        ensureOpen();
        if (copies.containsKey(host)) {
            return;
        }
        Tensor copy = Tensor.allocate(host.dtype(), host.shape());
        copy.copyFrom(host);
        copies.put(host, copy);
        order.add(host);
    }

    @Override
    public void download() {
        ensureOpen();
        downloads++;
        for (Tensor host : order) {
            if (!host.isClosed()) {
                host.copyFrom(copies.get(host));
            }
        }
    }

    @Override
    public void upload() {
        ensureOpen();
        uploads++;
        for (Tensor host : order) {
            if (!host.isClosed()) {
                copies.get(host).copyFrom(host);
            }
        }
    }

    @Override
    public DevicePlan load(ExecutionPlan plan) {
        ensureOpen();
        loads++;
        DevicePlan p = new DevicePlan() {
            private boolean planClosed;

            @Override
            public Tensor[] run(Tensor[] inputs) {
                if (planClosed) {
                    throw new IllegalStateException("device plan closed");
                }
                ensureOpen();
                runs++;
                Tensor[] bound = inputs.clone();
                for (int i = 0; i < bound.length; i++) {
                    Tensor copy = copies.get(bound[i]);
                    if (copy != null) {
                        bound[i] = copy;
                    }
                }
                return plan.run(bound);
            }

            @Override
            public long deviceBytes() {
                return plan.arenaBytes();
            }

            @Override
            public void close() {
                planClosed = true;
            }
        };
        plans.add(p);
        return p;
    }

    @Override
    public long deviceBytes() {
        long n = 0;
        for (Tensor t : copies.values()) {
            n += t.shape().size() * (long) t.dtype().byteSize();
        }
        return n;
    }

    /** The device copy of {@code host}, or null when it is not attached. */
    public Tensor deviceCopy(Tensor host) {
        return copies.get(host);
    }

    public int attached() {
        return copies.size();
    }

    public int downloads() {
        return downloads;
    }

    public int uploads() {
        return uploads;
    }

    public int loads() {
        return loads;
    }

    public int runs() {
        return runs;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("session closed");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            plans.forEach(DevicePlan::close);
            copies.values().forEach(Tensor::close);
            copies.clear();
            order.clear();
        }
    }
}
