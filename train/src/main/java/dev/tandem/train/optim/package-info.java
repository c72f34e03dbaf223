/**
 * Optimizers and learning-rate schedules. An {@link dev.tandem.train.optim.Optimizer} is a configuration that
 * names the state it keeps per parameter and emits the one {@code dev.tandem.SgdStep} or
 * {@code dev.tandem.AdamStep} node that ends a training graph ({@code docs/training.md}); each also has a
 * plain-Java reference update on float arrays, the specification the step ops are tested against. An
 * {@link dev.tandem.train.optim.LrSchedule} gives the learning rate of each step, in plain Java, bound to the
 * step node's {@code lr} input at every run.
 */
package dev.tandem.train.optim;
