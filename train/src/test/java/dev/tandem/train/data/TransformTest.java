package dev.tandem.train.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class TransformTest {
    /** A generator whose nextInt(bound) answers the given values in turn, and nextDouble() 0. */
    static RandomGenerator fixed(int... ints) {
        return new RandomGenerator() {
            int i;

            @Override
            public long nextLong() {
                throw new UnsupportedOperationException();
            }

            @Override
            public int nextInt(int bound) {
                assertThat(ints[i]).isLessThan(bound);
                return ints[i++];
            }

            @Override
            public double nextDouble() {
                return 0;
            }
        };
    }

    /** 2 channels of 3×4: value c·100 + y·10 + x, at offset 1 of a longer array. */
    static float[] sample() {
        float[] x = new float[1 + 24 + 1];
        for (int c = 0; c < 2; c++) {
            for (int y = 0; y < 3; y++) {
                for (int xx = 0; xx < 4; xx++) {
                    x[1 + c * 12 + y * 4 + xx] = c * 100 + y * 10 + xx;
                }
            }
        }
        x[0] = -1;
        x[25] = -2;
        return x;
    }

    @Test
    void randomCropShiftsAndPadsWithZeros() {
        float[] x = sample();
        // padding 2: offsets drawn in 0..4, so 3 and 0 shift the window down 1 row and left 2 columns
        new RandomCrop(2).apply(x, 1, 2, 3, 4, fixed(3, 0));
        float[] expected = {
            -1,
            0, 0, 10, 11, 0, 0, 20, 21, 0, 0, 0, 0,
            0, 0, 110, 111, 0, 0, 120, 121, 0, 0, 0, 0,
            -2};
        assertThat(x).containsExactly(expected);
        float[] y = sample();
        new RandomCrop(2).apply(y, 1, 2, 3, 4, fixed(2, 2));
        assertThat(y).containsExactly(sample());
    }

    @Test
    void flipMirrorsEveryRow() {
        float[] x = sample();
        new RandomHorizontalFlip(1).apply(x, 1, 2, 3, 4, fixed());
        assertThat(x[1]).isEqualTo(3);
        assertThat(x[1 + 12 + 4 + 3]).isEqualTo(110);
        assertThat(x[0]).isEqualTo(-1);
        assertThat(x[25]).isEqualTo(-2);
        float[] y = sample();
        new RandomHorizontalFlip(0).apply(y, 1, 2, 3, 4, fixed());
        assertThat(y).containsExactly(sample());
        assertThatThrownBy(() -> new RandomHorizontalFlip(1.5)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void normalizePerChannel() {
        float[] x = sample();
        new Normalize(new float[] {10, 100}, new float[] {2, 4}).apply(x, 1, 2, 3, 4, fixed());
        assertThat(x[1 + 5]).isEqualTo((11 - 10) / 2f);
        assertThat(x[1 + 12 + 5]).isEqualTo((111 - 100) / 4f);
        assertThat(x[25]).isEqualTo(-2);
        assertThatThrownBy(() -> new Normalize(new float[] {1, 2, 3}, new float[] {1, 1, 1})
                .apply(sample(), 1, 2, 3, 4, fixed())).hasMessageContaining("3 channel values but the sample has 2");
        assertThatThrownBy(() -> new Normalize(new float[] {0}, new float[] {0}))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void normalizeOfADatasetMeasuresMeanAndStd() {
        // one channel, two samples of 2 pixels: 0, 1 and 1, 1 -> mean 0.75, std sqrt(0.1875)
        ByteDataset d = new ByteDataset(List.of("a"), 1, 1, 2, new byte[] {0, (byte) 255, (byte) 255, (byte) 255},
                new int[] {0, 0});
        Normalize n = Normalize.of(d);
        assertThat(n.mean()[0]).isCloseTo(0.75f, within(1e-6f));
        assertThat(n.std()[0]).isCloseTo((float) Math.sqrt(0.1875), within(1e-6f));
    }
}
