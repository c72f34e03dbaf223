package dev.tandem.cli;

import dev.tandem.runtime.MemorySize;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Reads {@code --max-memory} values: bytes, or a whole number with k, m, g or t ({@link MemorySize#parse}). */
final class MemorySizeConverter implements ITypeConverter<Long> {
    /** The option's description, shared by every command that takes it. */
    static final String DESCRIPTION = "Memory budget: refuse the model when its weights plus the arena of one run "
            + "need more (bytes, or with k, m, g: 512k, 64m, 1g; binary units). tandem inspect shows both.";

    @Override
    public Long convert(String value) {
        try {
            return MemorySize.parse(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
