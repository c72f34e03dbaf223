package dev.tandem.cli;

import dev.tandem.train.data.ImageFolder;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** The {@code folder:} data options of {@code tandem train}. */
final class FolderOptions {
    private FolderOptions() {
    }

    static ImageFolder.Options parse(CommandSpec spec, String size, int channels, double valFraction, long seed,
                                     boolean strict, int threads) {
        String[] hw = size.toLowerCase(java.util.Locale.ROOT).split("x");
        int h, w;
        try {
            if (hw.length != 2) {
                throw new NumberFormatException();
            }
            h = Integer.parseInt(hw[0].strip());
            w = Integer.parseInt(hw[1].strip());
        } catch (NumberFormatException e) {
            throw new ParameterException(spec.commandLine(), "--image-size must be HxW, like 32x32; got '" + size + "'");
        }
        if (h < 4 || w < 4 || (channels != 1 && channels != 3)) {
            throw new ParameterException(spec.commandLine(), "--image-size must be at least 4x4 and --channels 1 or 3");
        }
        if (!(valFraction > 0 && valFraction < 1)) {
            throw new ParameterException(spec.commandLine(), "--val-fraction must be between 0 and 1");
        }
        return ImageFolder.Options.of(h, w, channels).withValFraction(valFraction).withSeed(seed).withStrict(strict)
                .withThreads(Math.max(1, threads));
    }
}
