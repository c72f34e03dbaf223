package dev.tandem.runtime.ops.nn;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tandem.runtime.kernels.Sgemm;
import org.junit.jupiter.api.Test;

class FusedExpandDepthwiseTest {
    private static final int MR = Sgemm.MR;

    private static int blocks(int m, int mb) {
        return (m + mb - 1) / mb;
    }

    @Test
    void blocksStayInTheBudgetAndAreWholeRowTiles() {
        // 8 tiles of channels, room for one tile and a bit per block: one tile per block, 8 blocks
        long plane = FusedExpandDepthwise.BLOCK_BYTES / (MR + 1);
        assertThat(FusedExpandDepthwise.blockChannels(8 * MR, plane, 2)).isEqualTo(MR);
        // room for fewer channels than a tile: as many as fit
        long big = FusedExpandDepthwise.BLOCK_BYTES / 3;
        assertThat(FusedExpandDepthwise.blockChannels(8 * MR, big, 2)).isEqualTo(3);
        assertThat(FusedExpandDepthwise.blockChannels(8 * MR, FusedExpandDepthwise.BLOCK_BYTES * 2, 2)).isEqualTo(1);
    }

    @Test
    void blockCountIsAMultipleOfTheThreadsWhereThereAreTilesEnough() {
        // everything fits one block, but two threads each take one of two
        int m = 80 * MR;
        int mb = FusedExpandDepthwise.blockChannels(m, 196, 2);
        assertThat(mb).isEqualTo(40 * MR);
        assertThat(blocks(m, mb)).isEqualTo(2);
        assertThat(FusedExpandDepthwise.blockChannels(m, 196, 1)).as("one thread: one block").isEqualTo(m);
        // three blocks' worth of budget on two threads: four blocks
        m = 12 * MR;
        long plane = FusedExpandDepthwise.BLOCK_BYTES / (5 * MR);
        mb = FusedExpandDepthwise.blockChannels(m, plane, 2);
        assertThat(blocks(m, mb)).isEqualTo(4);
        assertThat((long) mb * plane).isLessThanOrEqualTo(FusedExpandDepthwise.BLOCK_BYTES);
        // fewer tiles than threads: whole tiles, as many blocks as tiles
        m = MR + 4;
        mb = FusedExpandDepthwise.blockChannels(m, 196, 4);
        assertThat(mb).isEqualTo(m);
        assertThat(FusedExpandDepthwise.blockChannels(m, 196, 2)).isEqualTo(MR);
    }
}
