package dev.tandem.runtime.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

class TensorTest {
    private static float[] iota(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = i;
        }
        return x;
    }

    @Test
    void allocatesZeroedContiguousMemoryForEveryDtype() {
        for (DType t : DType.values()) {
            try (Tensor x = Tensor.allocate(t, Shape.of(2, 3))) {
                assertThat(x.isContiguous()).isTrue();
                assertThat(x.strides()).containsExactly(3, 1);
                assertThat(x.segment().byteSize()).isGreaterThanOrEqualTo(6L * t.byteSize());
                assertThat(x.getDouble(1, 2)).isZero();
                x.setDouble(t == DType.BOOL ? 1 : 5, 1, 2);
                assertThat(x.getDouble(1, 2)).isEqualTo(t == DType.BOOL ? 1 : 5);
                assertThat(DType.fromOnnx(t.onnxCode())).isEqualTo(t);
            }
        }
        assertThatThrownBy(() -> DType.fromOnnx(16)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("16");
    }

    @Test
    void unsignedAndSignedBytesReadBack() {
        try (Tensor u = Tensor.allocate(DType.UINT8, Shape.of(1)); Tensor s = Tensor.allocate(DType.INT8, Shape.of(1))) {
            u.setDouble(200, 0);
            s.setDouble(-100, 0);
            assertThat(u.getDouble(0)).isEqualTo(200);
            assertThat(s.getDouble(0)).isEqualTo(-100);
        }
    }

    @Test
    void reshapeIsAViewSharingMemory() {
        try (Tensor x = Tensor.ofFloats(Shape.of(2, 3, 4), iota(24))) {
            Tensor y = x.reshape(4, -1);
            assertThat(y.shape()).isEqualTo(Shape.of(4, 6));
            y.setFloat(-1f, 3, 5);
            assertThat(x.getFloat(1, 2, 3)).isEqualTo(-1f);
            assertThatThrownBy(() -> x.reshape(5, -1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> x.reshape(-1, -1)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> x.reshape(2, 2)).hasMessageContaining("24 elements");
        }
    }

    @Test
    void permuteTransposeAndSliceAreStridedViews() {
        try (Tensor x = Tensor.ofFloats(Shape.of(2, 3, 4), iota(24))) {
            Tensor t = x.permute(2, 0, 1);
            assertThat(t.shape()).isEqualTo(Shape.of(4, 2, 3));
            assertThat(t.isContiguous()).isFalse();
            assertThat(t.getFloat(3, 1, 2)).isEqualTo(x.getFloat(1, 2, 3));
            assertThat(x.transpose(0, -1).getFloat(3, 2, 1)).isEqualTo(x.getFloat(1, 2, 3));

            Tensor s = x.slice(2, 1, 4, 2);
            assertThat(s.shape()).isEqualTo(Shape.of(2, 3, 2));
            assertThat(s.toFloatArray()).containsExactly(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23);
            assertThat(x.slice(0, -1, 100, 1).toFloatArray()).hasSize(12).startsWith(12, 13);
            assertThat(x.slice(1, 2, 1, 1).size()).isZero();

            assertThatThrownBy(() -> t.reshape(24)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("contiguous()");
            try (Tensor c = t.contiguous()) {
                assertThat(c.isContiguous()).isTrue();
                assertThat(c.reshape(24).toFloatArray()).containsExactly(t.toFloatArray());
            }
            assertThatThrownBy(() -> x.permute(0, 0, 1)).hasMessageContaining("repeated");
        }
    }

    @Test
    void broadcastUsesZeroStrides() {
        try (Tensor b = Tensor.ofFloats(Shape.of(3, 1), 1, 2, 3)) {
            Tensor v = b.broadcastTo(Shape.of(2, 3, 4));
            assertThat(v.strides()).containsExactly(0, 1, 0);
            assertThat(v.getFloat(1, 2, 3)).isEqualTo(3f);
            assertThat(Shape.broadcast(Shape.of(3, 1), Shape.of(2, 1, 5))).isEqualTo(Shape.of(2, 3, 5));
            assertThatThrownBy(() -> Shape.broadcast(Shape.of(3), Shape.of(4)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[3] and [4]");
            assertThatThrownBy(() -> b.broadcastTo(Shape.of(2, 2))).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void copyFromHandlesStridedSourcesAndChecksShapes() {
        try (Tensor x = Tensor.ofFloats(Shape.of(2, 3), 1, 2, 3, 4, 5, 6);
             Tensor y = Tensor.allocate(DType.FLOAT32, Shape.of(3, 2))) {
            y.copyFrom(x.transpose(0, 1));
            assertThat(y.toFloatArray()).containsExactly(1, 4, 2, 5, 3, 6);
            assertThatThrownBy(() -> y.copyFrom(x)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("[2, 3]").hasMessageContaining("[3, 2]");
            assertThatThrownBy(() -> y.copyFrom(new float[5])).hasMessageContaining("5 values");
        }
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseThrows() {
        Tensor x = Tensor.ofFloats(Shape.of(2), 1, 2);
        Tensor view = x.reshape(2);
        x.close();
        x.close();
        assertThat(x.isClosed()).isTrue();
        assertThatThrownBy(() -> x.getFloat(0)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(x::segment).isInstanceOf(IllegalStateException.class);
        // the view's memory is gone with its owner's arena
        assertThatThrownBy(() -> view.getFloat(0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void arenaOwnedTensorsLiveWithTheirArena() {
        Tensor t;
        try (Arena arena = Arena.ofConfined()) {
            t = Tensor.allocate(arena, DType.INT64, Shape.of(3));
            t.setDouble(7, 2);
            assertThat(t.getDouble(2)).isEqualTo(7);
            Tensor w = Tensor.wrap(t.segment(), 1, DType.INT64, Shape.of(2));
            assertThat(w.getDouble(1)).isEqualTo(7);
            assertThatThrownBy(() -> Tensor.wrap(t.segment(), 2, DType.INT64, Shape.of(2)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 32 bytes");
        }
        assertThatThrownBy(() -> t.getDouble(0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void indexChecksNameTheShape() {
        try (Tensor x = Tensor.allocate(DType.FLOAT32, Shape.of(2, 2))) {
            assertThatThrownBy(() -> x.getFloat(2, 0)).isInstanceOf(IndexOutOfBoundsException.class)
                    .hasMessageContaining("[2, 2]");
            assertThatThrownBy(() -> x.getFloat(0)).hasMessageContaining("rank is 2");
            assertThatThrownBy(() -> Shape.of(2, -1)).hasMessageContaining("Negative dimension -1");
            assertThatThrownBy(() -> x.getDouble(0, 0, 0)).isInstanceOf(IllegalArgumentException.class);
        }
        try (Tensor l = Tensor.ofLongs(Shape.of(1), 5)) {
            assertThatThrownBy(() -> l.getFloat(0)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("INT64");
        }
    }

    @Test
    void scalarsHaveOneElement() {
        try (Tensor s = Tensor.ofFloats(Shape.scalar(), 4f)) {
            assertThat(s.size()).isEqualTo(1);
            assertThat(s.rank()).isZero();
            assertThat(s.getFloat()).isEqualTo(4f);
            assertThat(s.reshape(1, 1).getFloat(0, 0)).isEqualTo(4f);
        }
    }
}
