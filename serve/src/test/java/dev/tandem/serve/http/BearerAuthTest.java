package dev.tandem.serve.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BearerAuthTest {
    @TempDir
    Path dir;

    @Test
    void acceptsExactlyTheConfiguredTokens() throws IOException {
        Path f = Files.writeString(dir.resolve("tokens"), "# comment\nalpha\n\n  beta  \n");
        BearerAuth auth = BearerAuth.fromFile(f);
        assertThat(auth.allows("Bearer alpha")).isTrue();
        assertThat(auth.allows("bearer beta")).isTrue();
        assertThat(auth.allows("Bearer  beta ")).isTrue();
        assertThat(auth.allows("Bearer alph")).isFalse();
        assertThat(auth.allows("Bearer alphaa")).isFalse();
        assertThat(auth.allows("Bearer # comment")).isFalse();
        assertThat(auth.allows("Basic alpha")).isFalse();
        assertThat(auth.allows("alpha")).isFalse();
        assertThat(auth.allows("Bearer ")).isFalse();
        assertThat(auth.allows(null)).isFalse();
    }

    @Test
    void refusesEmptyUnreadableOrBlankTokens() throws IOException {
        assertThatThrownBy(() -> BearerAuth.fromFile(Files.writeString(dir.resolve("e"), "\n# x\n")))
                .hasMessageContaining("holds no token");
        assertThatThrownBy(() -> BearerAuth.fromFile(dir.resolve("missing")))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("Cannot read the token file");
        assertThatThrownBy(() -> BearerAuth.of(List.of("a b"))).hasMessageContaining("white space");
        assertThatThrownBy(() -> BearerAuth.of(List.of())).hasMessageContaining("At least one");
    }
}
