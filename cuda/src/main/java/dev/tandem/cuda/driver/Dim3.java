package dev.tandem.cuda.driver;

/** A grid or block size in up to three dimensions; each at least 1. */
public record Dim3(int x, int y, int z) {
    public Dim3 {
        if (x < 1 || y < 1 || z < 1) {
            throw new IllegalArgumentException("grid and block dimensions must be at least 1; got " + x + "x" + y
                    + "x" + z);
        }
    }

    /** One dimension. */
    public static Dim3 of(int x) {
        return new Dim3(x, 1, 1);
    }

    /** Two dimensions. */
    public static Dim3 of(int x, int y) {
        return new Dim3(x, y, 1);
    }

    /** Enough blocks of {@code block} threads to cover {@code n} items: ceil(n / block), at least 1. */
    public static Dim3 cover(long n, int block) {
        long blocks = Math.max(1, (n + block - 1) / block);
        if (blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(n + " items need more than 2^31-1 blocks of " + block);
        }
        return of((int) blocks);
    }
}
