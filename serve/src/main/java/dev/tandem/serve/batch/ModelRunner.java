package dev.tandem.serve.batch;

import dev.tandem.runtime.InvalidInputException;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.ModelException;
import dev.tandem.runtime.classify.Classifier;
import dev.tandem.runtime.classify.Prediction;
import dev.tandem.runtime.tensor.Shape;
import dev.tandem.runtime.tensor.Tensor;
import dev.tandem.serve.ServeException;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs batches of jobs on one loaded model: classify jobs together through the {@link Classifier}; infer jobs
 * grouped by batch key, each group's inputs concatenated along dimension 0, run once and split back by rows. When
 * a batch fails, or its outputs do not keep the batch dimension, its jobs run one by one, so one job's problem is
 * only that job's answer.
 */
public final class ModelRunner implements java.util.function.Consumer<List<Job<?>>> {
    private static final System.Logger LOG = System.getLogger(ModelRunner.class.getName());

    private final Model model;
    private final Classifier classifier;

    /** @param classifier the model as a classifier, or null when it is not one (classify jobs are then refused) */
    public ModelRunner(Model model, Classifier classifier) {
        this.model = model;
        this.classifier = classifier;
    }

    @Override
    public void accept(List<Job<?>> batch) {
        List<ClassifyJob> classify = new ArrayList<>();
        Map<String, List<InferJob>> groups = new LinkedHashMap<>();
        List<InferJob> alone = new ArrayList<>();
        for (Job<?> j : batch) {
            switch (j) {
                case ClassifyJob c -> classify.add(c);
                case InferJob i when i.batchKey() != null -> groups.computeIfAbsent(i.batchKey(),
                        k -> new ArrayList<>()).add(i);
                case InferJob i -> alone.add(i);
            }
        }
        if (!classify.isEmpty()) {
            classify(classify);
        }
        for (List<InferJob> g : groups.values()) {
            if (g.size() == 1) {
                alone.add(g.getFirst());
            } else {
                inferBatch(g);
            }
        }
        for (InferJob j : alone) {
            inferOne(j);
        }
    }

    // ---- classification

    private void classify(List<ClassifyJob> jobs) {
        if (classifier == null) {
            for (ClassifyJob j : jobs) {
                j.result().completeExceptionally(new ServeException(400, "The model is not an image classifier"));
            }
            return;
        }
        List<BufferedImage> images = new ArrayList<>(jobs.size());
        for (ClassifyJob j : jobs) {
            images.add(j.image());
        }
        List<List<Prediction>> results;
        try {
            results = classifier.classifyAll(images);
        } catch (RuntimeException e) {
            if (jobs.size() > 1) {
                for (ClassifyJob j : jobs) {
                    classify(List.of(j));
                }
            } else {
                jobs.getFirst().result().completeExceptionally(failure(e));
            }
            return;
        }
        for (int i = 0; i < jobs.size(); i++) {
            List<Prediction> top = results.get(i);
            ClassifyJob j = jobs.get(i);
            j.result().complete(List.copyOf(top.subList(0, Math.min(j.topK(), top.size()))));
        }
    }

    // ---- tensors

    private void inferOne(InferJob job) {
        Map<String, Tensor> in = new LinkedHashMap<>();
        try {
            for (TensorData d : job.inputs().values()) {
                in.put(d.name(), d.toTensor());
            }
            Map<String, Tensor> out = model.run(in);
            try {
                List<TensorData> result = new ArrayList<>();
                for (Map.Entry<String, Tensor> e : out.entrySet()) {
                    if (job.outputs() == null || job.outputs().contains(e.getKey())) {
                        Tensor t = e.getValue();
                        result.add(TensorData.fromTensor(e.getKey(), t, 0, t.rank() == 0 ? 1 : t.shape().dim(0)));
                    }
                }
                job.result().complete(result);
            } finally {
                out.values().forEach(Tensor::close);
            }
        } catch (RuntimeException e) {
            job.result().completeExceptionally(failure(e));
        } finally {
            in.values().forEach(Tensor::close);
        }
    }

    private void inferBatch(List<InferJob> jobs) {
        int total = 0;
        for (InferJob j : jobs) {
            total += j.rows();
        }
        Map<String, Tensor> in = new LinkedHashMap<>();
        Map<String, Tensor> out = null;
        try {
            for (String name : jobs.getFirst().inputs().keySet()) {
                TensorData first = jobs.getFirst().inputs().get(name);
                int[] dims = first.shape().dims();
                dims[0] = total;
                Tensor t = Tensor.allocate(first.dtype(), Shape.of(dims));
                in.put(name, t);
                long offset = 0;
                for (InferJob j : jobs) {
                    TensorData d = j.inputs().get(name);
                    d.copyInto(t, offset);
                    offset += d.size();
                }
            }
            out = model.run(in);
            for (Tensor t : out.values()) {
                if (t.rank() == 0 || t.shape().dim(0) != total) {
                    // The model mixes rows (or drops the batch dimension): batching would change answers.
                    LOG.log(System.Logger.Level.DEBUG, "Output shape {0} does not keep the batch of {1}; running "
                            + "one by one", t.shape(), total);
                    runAlone(jobs);
                    return;
                }
            }
            int row = 0;
            for (InferJob j : jobs) {
                List<TensorData> result = new ArrayList<>();
                for (Map.Entry<String, Tensor> e : out.entrySet()) {
                    if (j.outputs() == null || j.outputs().contains(e.getKey())) {
                        result.add(TensorData.fromTensor(e.getKey(), e.getValue(), row, j.rows()));
                    }
                }
                row += j.rows();
                j.result().complete(result);
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.DEBUG, "A batch of {0} failed ({1}); running one by one", jobs.size(),
                    e.getMessage());
            runAlone(jobs);
        } finally {
            in.values().forEach(Tensor::close);
            if (out != null) {
                out.values().forEach(Tensor::close);
            }
        }
    }

    private void runAlone(List<InferJob> jobs) {
        for (InferJob j : jobs) {
            if (!j.result().isDone()) {
                inferOne(j);
            }
        }
    }

    /** The HTTP answer to a failure while running: bad input is the client's (400), anything else the model's. */
    static ServeException failure(RuntimeException e) {
        if (e instanceof ServeException s) {
            return s;
        }
        if (e instanceof InvalidInputException || e instanceof dev.tandem.runtime.classify.ImageDecodeException) {
            return new ServeException(400, e.getMessage(), e);
        }
        if (e instanceof ModelException) {
            return new ServeException(500, "The model failed: " + e.getMessage(), e);
        }
        LOG.log(System.Logger.Level.ERROR, "Inference failed", e);
        return new ServeException(500, "Internal error while running the model: " + e, e);
    }
}
