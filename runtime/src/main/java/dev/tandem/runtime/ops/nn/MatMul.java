package dev.tandem.runtime.ops.nn;

import dev.tandem.runtime.kernels.Activation;
import dev.tandem.runtime.kernels.Sgemm;
import dev.tandem.runtime.kernels.reference.ReferenceMatMul;
import dev.tandem.runtime.ops.Elements;
import dev.tandem.runtime.ops.Kernel;
import dev.tandem.runtime.ops.Op;
import dev.tandem.runtime.ops.OpContext;
import dev.tandem.runtime.ops.Prepared;
import dev.tandem.runtime.tensor.DType;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;

/**
 * MatMul (opset 1+), float32 and float64, numpy semantics: 1-D operands get a dimension prepended (A) or appended
 * (B) and removed from the result; batch dimensions broadcast. Float32 paths: when B has no batch (all its batch
 * dims are 1) the batches of A fold into the rows of one GEMM; a constant such B with at most {@link Gemv#MAX_ROWS}
 * rows runs {@link Gemv}; a constant 2-D A is packed once; otherwise one {@link Sgemm} call per output batch.
 * Float64 runs the scalar {@link ReferenceMatMul}.
 */
public final class MatMul implements Op {
    @Override
    public String type() {
        return "MatMul";
    }

    @Override
    public Prepared prepare(OpContext ctx) {
        DType t = ctx.requireType(0, DType.FLOAT32, DType.FLOAT64);
        ctx.requireType(1, t);
        Shape sa = ctx.shape(0), sb = ctx.shape(1);
        if (sa.rank() == 0 || sb.rank() == 0) {
            throw ctx.fail("MatMul operands must have rank >= 1; got " + sa + " and " + sb);
        }
        int[] a = sa.rank() == 1 ? new int[] {1, sa.dim(0)} : sa.dims();
        int[] b = sb.rank() == 1 ? new int[] {sb.dim(0), 1} : sb.dims();
        int m = a[a.length - 2], k = a[a.length - 1], kb = b[b.length - 2], n = b[b.length - 1];
        if (k != kb) {
            throw ctx.fail("MatMul inner dimensions differ: " + sa + " × " + sb);
        }
        int[] batchA = java.util.Arrays.copyOf(a, a.length - 2);
        int[] batchB = java.util.Arrays.copyOf(b, b.length - 2);
        Shape batch;
        try {
            batch = Shape.broadcast(Shape.of(batchA), Shape.of(batchB));
        } catch (IllegalArgumentException e) {
            throw ctx.fail("MatMul batch dimensions do not broadcast: " + sa + " × " + sb);
        }
        int br = batch.rank();
        int[] od = new int[br + 2];
        System.arraycopy(batch.dims(), 0, od, 0, br);
        od[br] = m;
        od[br + 1] = n;
        int[] outDims;
        if (sa.rank() == 1 && sb.rank() == 1) {
            outDims = java.util.Arrays.copyOf(od, br);
        } else if (sa.rank() == 1) {
            outDims = remove(od, br);
        } else if (sb.rank() == 1) {
            outDims = remove(od, br + 1);
        } else {
            outDims = od;
        }
        Shape outShape = Shape.of(outDims);
        long batches = batch.size();
        long macs = batches * m * (long) n * k;
        if (t == DType.FLOAT64) {
            return Prepared.of(t, outShape, macs, (in, out) -> Elements.setDoubles(out[0],
                    ReferenceMatMul.matmul(Elements.toDoubles(in[0]), a, Elements.toDoubles(in[1]), b)));
        }
        Sgemm gemm = ctx.gemm();
        long sizeB = Shape.of(batchB).size();
        Kernel kernel;
        if (m == 0 || n == 0 || batches == 0) {
            kernel = (in, out) -> { };
        } else if (k == 0) {
            kernel = (in, out) -> out[0].segment().asSlice(out[0].offset() * 4, out[0].size() * 4).fill((byte) 0);
        } else if (sizeB == 1) {
            long rowsL = Shape.of(batchA).size() * m;
            int rows = Math.toIntExact(rowsL);
            Tensor bConst = ctx.constant(1);
            if (bConst != null && rows <= Gemv.MAX_ROWS) {
                Tensor bc = bConst.contiguous();
                Gemv gemv = new Gemv(false, k, n, bc.segment(), bc.offset(), n);
                Gemm.closeCopy(bc, bConst);
                kernel = (in, out) -> {
                    Tensor at = in[0].contiguous();
                    float[] r = at.toFloatArray();
                    Gemm.closeCopy(at, in[0]);
                    gemv.run(gemm.pool(), r, rows, 1f, 0f, out[0].segment(), out[0].offset());
                };
            } else {
                kernel = (in, out) -> {
                    Tensor at = in[0].contiguous(), bt = in[1].contiguous();
                    gemm.gemm(false, false, rows, n, k, 1f, at.segment(), at.offset(), k, bt.segment(), bt.offset(),
                            n, 0f, out[0].segment(), out[0].offset(), n);
                    Gemm.closeCopy(at, in[0]);
                    Gemm.closeCopy(bt, in[1]);
                };
            }
        } else {
            long[] strideA = batchStrides(batchA, br, (long) m * k);
            long[] strideB = batchStrides(batchB, br, (long) k * n);
            int[] bd = batch.dims();
            Tensor aConst = ctx.constant(0);
            Sgemm.PackedA packed = null;
            if (aConst != null && Shape.of(batchA).size() == 1) {
                Tensor ac = aConst.contiguous();
                packed = Sgemm.packA(false, m, k, ac.segment(), ac.offset(), k);
                Gemm.closeCopy(ac, aConst);
            }
            Sgemm.PackedA pa = packed;
            kernel = (in, out) -> {
                Tensor at = in[0].contiguous(), bt = in[1].contiguous();
                int[] idx = new int[br];
                for (long bi = 0; bi < batches; bi++) {
                    long ao = at.offset(), bo = bt.offset();
                    for (int d = 0; d < br; d++) {
                        ao += idx[d] * strideA[d];
                        bo += idx[d] * strideB[d];
                    }
                    long oo = out[0].offset() + bi * m * n;
                    if (pa != null) {
                        gemm.gemm(pa, false, n, 1f, bt.segment(), bo, n, 0f, out[0].segment(), oo, n, null,
                                Activation.NONE);
                    } else {
                        gemm.gemm(false, false, m, n, k, 1f, at.segment(), ao, k, bt.segment(), bo, n, 0f,
                                out[0].segment(), oo, n);
                    }
                    for (int d = br - 1; d >= 0; d--) {
                        if (++idx[d] < bd[d]) {
                            break;
                        }
                        idx[d] = 0;
                    }
                }
                Gemm.closeCopy(at, in[0]);
                Gemm.closeCopy(bt, in[1]);
            };
        }
        return Prepared.of(DType.FLOAT32, outShape, macs, kernel);
    }

    private static int[] remove(int[] d, int i) {
        int[] r = new int[d.length - 1];
        System.arraycopy(d, 0, r, 0, i);
        System.arraycopy(d, i + 1, r, i, d.length - i - 1);
        return r;
    }

    /** Element strides of each output batch axis in an operand with batch dims {@code dims} (0 where broadcast). */
    private static long[] batchStrides(int[] dims, int rank, long matrix) {
        long[] s = new long[rank];
        long acc = matrix;
        for (int i = dims.length - 1; i >= 0; i--) {
            int axis = rank - dims.length + i;
            s[axis] = dims[i] == 1 ? 0 : acc;
            acc *= dims[i];
        }
        return s;
    }
}
