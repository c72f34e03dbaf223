/**
 * The training system: the Module API ({@code nn}), traced into runtime graphs and differentiated by the runtime's
 * autodiff; losses, optimizers and schedules ({@code optim}); the data pipeline ({@code data}); the
 * {@code Trainer} with checkpoints and reports; export to ONNX.
 */
package dev.tandem.train;
