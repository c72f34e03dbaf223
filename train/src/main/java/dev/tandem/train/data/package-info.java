/**
 * The data pipeline of the training system: readers for IDX (MNIST, Fashion-MNIST), CIFAR-10 binary batches and
 * image folders, all behind {@link dev.tandem.train.data.Dataset}; {@link dev.tandem.train.data.DataSpec} to name a
 * source in one string ({@code fashion-mnist:DIR}, {@code mnist:DIR}, {@code cifar10:DIR}, {@code folder:DIR});
 * seeded {@link dev.tandem.train.data.Transform}s; and the {@link dev.tandem.train.data.DataLoader}, which decodes
 * and augments batches on background threads, deterministically for a seed whatever the thread count.
 *
 * <p>Every error about the data itself is a {@link dev.tandem.train.data.DataException} naming the file or folder
 * at fault; malformed bytes are its subtype {@link dev.tandem.train.data.DataFormatException}.
 */
package dev.tandem.train.data;
