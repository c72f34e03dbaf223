package dev.tandem.serve.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The web page at {@code /}: pick or drop an image, see the top-5 with probabilities and the model version that
 * answered. Plain HTML and JavaScript from the classpath ({@code dev/tandem/serve/http/web/}), calling the classify
 * endpoint with the token typed into the page (kept in the tab's {@code sessionStorage}).
 */
enum WebPage {
    INDEX("index.html", "text/html; charset=utf-8"),
    APP_JS("app.js", "text/javascript; charset=utf-8");

    /** Headers of every page resource: no inline script, no framing, no sniffing. */
    static final Map<String, String> HEADERS = Map.of(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; style-src 'self' "
                    + "'unsafe-inline'; script-src 'self'; frame-ancestors 'none'",
            "X-Content-Type-Options", "nosniff",
            "Cache-Control", "no-cache");

    private final String contentType;
    private final byte[] bytes;

    WebPage(String resource, String contentType) {
        this.contentType = contentType;
        try (InputStream in = WebPage.class.getResourceAsStream("web/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("Missing classpath resource web/" + resource);
            }
            this.bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String contentType() {
        return contentType;
    }

    byte[] bytes() {
        return bytes;
    }
}
