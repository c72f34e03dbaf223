package dev.tandem.cli.bundle;

import dev.tandem.runtime.onnx.proto.Onnx.AttributeProto;
import dev.tandem.runtime.onnx.proto.Onnx.GraphProto;
import dev.tandem.runtime.onnx.proto.Onnx.NodeProto;
import dev.tandem.runtime.onnx.proto.Onnx.StringStringEntryProto;
import dev.tandem.runtime.onnx.proto.Onnx.TensorProto;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;

/** The files a model is made of: the ONNX file and the external data files its tensors name, next to it. */
final class ModelFiles {
    private ModelFiles() {
    }

    /**
     * The external data files the model's tensors name, relative to its folder (the runtime has already checked
     * that they stay inside it).
     */
    static Set<String> externalData(Path model) throws IOException {
        GraphProto g;
        try (InputStream in = Files.newInputStream(model)) {
            g = dev.tandem.runtime.onnx.proto.Onnx.ModelProto.parseFrom(in).getGraph();
        }
        Set<String> files = new TreeSet<>();
        collect(g, files);
        return files;
    }

    private static void collect(GraphProto g, Set<String> files) {
        for (TensorProto t : g.getInitializerList()) {
            add(t, files);
        }
        for (NodeProto n : g.getNodeList()) {
            for (AttributeProto a : n.getAttributeList()) {
                if (a.hasT()) {
                    add(a.getT(), files);
                }
                if (a.hasG()) {
                    collect(a.getG(), files);
                }
                for (GraphProto sub : a.getGraphsList()) {
                    collect(sub, files);
                }
            }
        }
    }

    private static void add(TensorProto t, Set<String> files) {
        if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            for (StringStringEntryProto e : t.getExternalDataList()) {
                if (e.getKey().equals("location")) {
                    files.add(e.getValue());
                }
            }
        }
    }
}
