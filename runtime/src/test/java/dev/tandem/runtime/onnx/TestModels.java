package dev.tandem.runtime.onnx;

import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.ModelProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.onnx.proto.Onnx.OperatorSetIdProto;
import dev.tandem.runtime.onnx.proto.Onnx.StringStringEntryProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorShapeProto;
import dev.tandem.runtime.onnx.proto.Onnx.TypeProto;
import dev.tandem.runtime.onnx.proto.Onnx.ValueInfoProto;
import java.util.Map;

/** Small ONNX models built in code for tests (only Relu is assumed to be supported). */
public final class TestModels {
    private TestModels() {
    }

    /** A float32 value info; a dim of -1 is symbolic ("N"). */
    public static ValueInfoProto floatInfo(String name, long... dims) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (long d : dims) {
            s.addDim(d < 0 ? TensorShapeProto.Dimension.newBuilder().setDimParam("N")
                    : TensorShapeProto.Dimension.newBuilder().setDimValue(d));
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(s))).build();
    }

    /** input x (dims) → Relu → output y (same dims), with metadata. */
    public static ModelProto relu(Map<String, String> metadata, long... dims) {
        GraphProto g = GraphProto.newBuilder().setName("relu")
                .addNode(NodeProto.newBuilder().setOpType("Relu").setName("relu0").addInput("x").addOutput("y"))
                .addInput(floatInfo("x", dims)).addOutput(floatInfo("y", dims)).build();
        ModelProto.Builder m = ModelProto.newBuilder().setIrVersion(8).setProducerName("tandem-test").setGraph(g)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17));
        metadata.forEach((k, v) -> m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return m.build();
    }
}
