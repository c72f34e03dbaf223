/**
 * The Module API, traced into runtime graphs. A {@link dev.tandem.train.nn.Module} tree (layers such as
 * {@link dev.tandem.train.nn.Conv2d}, {@link dev.tandem.train.nn.BatchNorm2d}, {@link dev.tandem.train.nn.Linear},
 * containers such as {@link dev.tandem.train.nn.Sequential}, ready-made networks from
 * {@link dev.tandem.train.nn.Zoo}) owns its parameters and buffers off-heap; {@link
 * dev.tandem.train.nn.Module#trace} turns it into a {@link dev.tandem.runtime.graph.Graph} through a
 * {@link dev.tandem.train.nn.Tracer}, with symbolic {@link dev.tandem.train.nn.Var}s carrying static shapes and
 * the {@link dev.tandem.train.nn.Functional} ops. {@link dev.tandem.train.nn.TraceMode} decides between training
 * ops and standard ONNX, and between state as graph inputs and as initializers. Losses
 * ({@link dev.tandem.train.nn.Loss}) append their nodes to a trace.
 */
package dev.tandem.train.nn;
