package dev.tandem.runtime;

import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.onnx.proto.Onnx.OperatorSetIdProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorShapeProto;
import dev.tandem.runtime.onnx.proto.Onnx.TypeProto;
import dev.tandem.runtime.onnx.proto.Onnx.ValueInfoProto;

/** Small ONNX models built in tests with the generated protobuf classes. */
public final class TestModels {
    private TestModels() {
    }

    /** A float tensor value-info; a negative dim is symbolic ("batch"). */
    public static ValueInfoProto floatInput(String name, long... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (long d : dims) {
            shape.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("batch")
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(shape))).build();
    }

    public static NodeProto node(String op, String name, String[] in, String... out) {
        NodeProto.Builder b = NodeProto.newBuilder().setOpType(op).setName(name);
        for (String i : in) {
            b.addInput(i);
        }
        for (String o : out) {
            b.addOutput(o);
        }
        return b.build();
    }

    /** x[batch?, dims...] → Relu → y, with {@code metadata} in metadata_props. */
    public static ModelProto relu(java.util.Map<String, String> metadata, long... dims) {
        ModelProto.Builder m = relu(dims).toBuilder();
        metadata.forEach((k, v) -> m.addMetadataProps(
                dev.tandem.runtime.onnx.proto.Onnx.StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return m.build();
    }

    /** x[batch?, dims...] → Relu → y. */
    public static ModelProto relu(long... dims) {
        GraphProto g = GraphProto.newBuilder().setName("relu")
                .addInput(floatInput("x", dims)).addOutput(floatInput("y", dims))
                .addNode(node("Relu", "r", new String[] {"x"}, "y")).build();
        return model(g, 13);
    }

    /** Three chained Relus: x → a → b → y. */
    public static ModelProto reluChain(long... dims) {
        GraphProto g = GraphProto.newBuilder().setName("chain")
                .addInput(floatInput("x", dims)).addOutput(floatInput("y", dims))
                .addNode(node("Relu", "r1", new String[] {"x"}, "a"))
                .addNode(node("Relu", "r2", new String[] {"a"}, "b"))
                .addNode(node("Relu", "r3", new String[] {"b"}, "y")).build();
        return model(g, 13);
    }

    /** A float initializer {@code name} of shape {@code dims}: Gaussian values from {@code r}, times {@code scale}. */
    public static TensorProto gaussian(String name, java.util.Random r, float scale, int... dims) {
        dev.tandem.runtime.tensor.Shape s = dev.tandem.runtime.tensor.Shape.of(dims);
        float[] v = new float[(int) s.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian() * scale;
        }
        try (dev.tandem.runtime.tensor.Tensor t = dev.tandem.runtime.tensor.Tensor.ofFloats(s, v)) {
            return dev.tandem.runtime.onnx.TensorCodec.encode(name, t);
        }
    }

    public static ModelProto model(GraphProto g, int opset) {
        return ModelProto.newBuilder().setIrVersion(8).setProducerName("tandem-test")
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(opset)).setGraph(g).build();
    }
}
