package dev.tandem.runtime.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class NpyTest {
    @TempDir
    Path dir;

    /** A .npy file as NumPy writes it (version 1.0). */
    static byte[] npy(String dict, byte[] data) {
        return npy(1, dict, data);
    }

    static byte[] npy(int major, String dict, byte[] data) {
        int pre = major == 1 ? 10 : 12;
        int total = pre + dict.length() + 1;
        String header = dict + " ".repeat((total + 63) / 64 * 64 - total) + "\n";
        byte[] hb = header.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(pre + hb.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) {
            b.putShort((short) hb.length);
        } else {
            b.putInt(hb.length);
        }
        return b.put(hb).put(data).array();
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void roundTripsEveryType(DType t) throws Exception {
        try (Tensor a = Tensor.allocate(t, Shape.of(2, 3))) {
            for (int i = 0; i < 6; i++) {
                Elements.setDouble(a, i, t == DType.BOOL ? i % 2 : i - 2 * (t == DType.UINT8 ? 0 : 1));
            }
            Path f = dir.resolve("a.npy");
            Npy.write(f, a);
            try (Tensor b = Npy.read(f); Tensor c = Npy.read(Files.readAllBytes(f), "a.npy")) {
                assertThat(b.dtype()).isEqualTo(t);
                assertThat(b.shape()).isEqualTo(Shape.of(2, 3));
                for (int i = 0; i < 6; i++) {
                    assertThat(Elements.getDouble(b, i)).isEqualTo(Elements.getDouble(a, i));
                    assertThat(Elements.getDouble(c, i)).isEqualTo(Elements.getDouble(a, i));
                }
            }
            assertThat((Files.size(f) - 6L * t.byteSize()) % 64).isZero();
        }
    }

    @Test
    void readsNumpyHeadersOfVersion1And2ScalarsAndEmptyArrays() {
        byte[] data = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f).array();
        try (Tensor t = Npy.read(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", data), "x")) {
            assertThat(t.toFloatArray()).containsExactly(1.5f, -2f);
        }
        try (Tensor t = Npy.read(npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", data), "x")) {
            assertThat(t.shape()).isEqualTo(Shape.of(1, 2));
        }
        try (Tensor t = Npy.read(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
                ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(7).array()), "x")) {
            assertThat(t.shape().rank()).isZero();
            assertThat(Elements.getLong(t, 0)).isEqualTo(7);
        }
        try (Tensor t = Npy.read(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", new byte[0]), "x")) {
            assertThat(t.size()).isZero();
        }
    }

    @Test
    void refusesFortranOrderBigEndianAndUnknownTypes() {
        assertThatThrownBy(() -> Npy.read(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
                new byte[4]), "f.npy")).isInstanceOf(NpyFormatException.class).hasMessageContaining("'f.npy'")
                .hasMessageContaining("Fortran");
        assertThatThrownBy(() -> Npy.read(npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                new byte[4]), "f.npy")).isInstanceOf(NpyFormatException.class).hasMessageContaining("big-endian");
        assertThatThrownBy(() -> Npy.read(npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                new byte[8]), "f.npy")).isInstanceOf(NpyFormatException.class).hasMessageContaining("'<c8'");
    }

    @Test
    void truncatedOrCorruptFilesAreTypedErrorsBeforeAnyAllocation() throws Exception {
        byte[] ok = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", new byte[16]);
        assertThatThrownBy(() -> Npy.read(Arrays.copyOf(ok, ok.length - 1), "t.npy"))
                .isInstanceOf(NpyFormatException.class).hasMessageContaining("truncated").hasMessageContaining("16 bytes");
        assertThatThrownBy(() -> Npy.read(Arrays.copyOf(ok, 30), "t.npy"))
                .isInstanceOf(NpyFormatException.class).hasMessageContaining("truncated");
        assertThatThrownBy(() -> Npy.read(Arrays.copyOf(ok, 5), "t.npy"))
                .isInstanceOf(NpyFormatException.class).hasMessageContaining("not a .npy file");
        // A huge declared shape with no data: refused from the sizes, nothing allocated.
        byte[] huge = npy("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 20000), }", new byte[8]);
        assertThatThrownBy(() -> Npy.read(huge, "h.npy")).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("needs 16000000000 bytes");
        Path f = dir.resolve("h.npy");
        Files.write(f, huge);
        assertThatThrownBy(() -> Npy.read(f)).isInstanceOf(NpyFormatException.class).hasMessageContaining(f.toString());
        assertThatThrownBy(() -> Npy.read(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
                new byte[4]), "n.npy")).isInstanceOf(NpyFormatException.class).hasMessageContaining("invalid dimension");
        assertThatThrownBy(() -> Npy.read(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", new byte[4]),
                "c.npy")).isInstanceOf(NpyFormatException.class).hasMessageContaining("corrupt header");
        assertThatThrownBy(() -> Npy.read(dir.resolve("missing.npy"))).isInstanceOf(NpyFormatException.class)
                .hasMessageContaining("not found");
        assertThatThrownBy(() -> Npy.read(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new byte[8]),
                "x.npy")).isInstanceOf(NpyFormatException.class).hasMessageContaining("after the 4 bytes");
    }

    @Test
    void randomCorruptionNeverThrowsAnythingButNpyFormatException() {
        byte[] ok = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", new byte[24]);
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        for (int i = 0; i < 3000; i++) {
            byte[] b = Arrays.copyOf(ok, r.nextInt(ok.length + 1));
            for (int k = r.nextInt(4); k >= 0 && b.length > 0; k--) {
                b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            }
            try (Tensor t = Npy.read(b, "fuzz")) {
                assertThat(t.size()).isLessThanOrEqualTo(b.length);
            } catch (NpyFormatException expected) {
                // fine
            }
        }
    }
}
