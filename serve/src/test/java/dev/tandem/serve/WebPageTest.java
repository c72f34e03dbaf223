package dev.tandem.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web page at {@code /} in headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, driven by
 * Selenium): a token typed in, an image picked and one dropped, the top-5 and the version that answered shown.
 * Skipped, saying so, when Chromium or chromedriver is not installed.
 */
class WebPageTest {
    @TempDir
    static Path dir;
    private static Path repo;
    private static ModelServer server;
    private static WebDriver browser;

    private static Path find(String... candidates) {
        for (String c : candidates) {
            Path p = Path.of(c);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    @BeforeAll
    static void start() throws Exception {
        Path chromium = find("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome");
        Path driver = find("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver");
        Assumptions.assumeTrue(chromium != null && driver != null, "Skipped: the browser test needs chromium and "
                + "chromedriver (Debian: apt-get install chromium chromium-driver)");
        repo = Files.createDirectories(dir.resolve("repo"));
        TestRepo.write(repo, "digits", 1, TestRepo.classifier(2));
        TestRepo.write(repo, "adder", 1, TestRepo.adder());
        server = ModelServer.builder(repo).port(0).tokens(List.of("tok")).threads(1).build().start();
        ChromeOptions o = new ChromeOptions();
        o.setBinary(chromium.toFile());
        o.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--user-data-dir=" + Files.createDirectories(dir.resolve("chrome")));
        // The installed driver, so that Selenium Manager never tries to download one.
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(driver.toFile())
                .usingAnyFreePort().build();
        browser = new ChromeDriver(service, o);
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.quit();
        }
        if (server != null) {
            server.close();
        }
    }

    private static WebDriverWait waiting() {
        return new WebDriverWait(browser, Duration.ofSeconds(20));
    }

    private static WebElement el(String id) {
        return browser.findElement(By.id(id));
    }

    private static List<String> labels() {
        return browser.findElements(By.cssSelector("#top tr.prediction td:first-child")).stream()
                .map(WebElement::getText).toList();
    }

    @Test
    void pickOrDropAnImageAndSeeTheTopFiveAndTheVersion() throws Exception {
        browser.get(server.uri() + "/");
        assertThat(browser.getTitle()).contains("Tandem");
        // No token yet: the model list is refused, and the page says why.
        waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.id("status"), "401"));

        el("token").sendKeys("tok");
        el("model").click();  // moves the focus: the token's change event fires
        waiting().until(d -> new Select(el("model")).getOptions().size() == 2);
        Select models = new Select(el("model"));
        assertThat(models.getFirstSelectedOption().getAttribute("value")).isEqualTo("digits");
        assertThat(models.getOptions().stream().filter(e -> e.getAttribute("value").equals("adder")).findFirst()
                .orElseThrow().isEnabled()).as("not an image classifier").isFalse();

        Path png = Files.write(dir.resolve("x.png"), TestRepo.png(28, 28, 40));
        el("file").sendKeys(png.toAbsolutePath().toString());
        waiting().until(ExpectedConditions.visibilityOfElementLocated(By.id("result")));
        assertThat(labels()).hasSize(5).first().isEqualTo("two");
        assertThat(el("version").getText()).isEqualTo("1");
        assertThat(el("answered-model").getText()).isEqualTo("digits");
        assertThat(browser.findElement(By.cssSelector("#top tr.prediction td.p")).getText()).endsWith("%");

        // A new version is swapped in; the token survives a reload (sessionStorage); a dropped image is classified.
        TestRepo.write(repo, "digits", 2, TestRepo.classifier(3));
        server.repository().reload();
        browser.navigate().refresh();
        assertThat(el("token").getAttribute("value")).isEqualTo("tok");
        waiting().until(d -> new Select(el("model")).getOptions().size() == 2);
        ((JavascriptExecutor) browser).executeScript("""
                const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
                const dt = new DataTransfer();
                dt.items.add(new File([bytes], 'dropped.png', {type: 'image/png'}));
                document.getElementById('drop').dispatchEvent(
                    new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
                """, Base64.getEncoder().encodeToString(TestRepo.png(28, 28, 90)));
        waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.id("version"), "2"));
        assertThat(labels()).hasSize(5).first().isEqualTo("three");

        // A wrong token: the refusal is shown, not a stale answer.
        el("token").clear();
        el("token").sendKeys("wrong");
        el("model").click();
        el("file").sendKeys(png.toAbsolutePath().toString());
        waiting().until(ExpectedConditions.textToBePresentInElementLocated(By.id("status"), "401"));
        assertThat(el("result").isDisplayed()).isFalse();
    }

    @Test
    void thePageNeedsNoTokenButTheApiDoesAndScriptsComeOnlyFromTheServer() {
        Http http = new Http(server.uri(), null);
        Http.Reply page = http.get("/");
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.raw().headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v)
                .startsWith("text/html"));
        assertThat(page.raw().headers().firstValue("Content-Security-Policy")).hasValueSatisfying(v -> assertThat(v)
                .contains("script-src 'self'"));
        assertThat(http.get("/ui/app.js").status()).isEqualTo(200);
        assertThat(http.get("/v1/models").status()).isEqualTo(401);
        assertThat(http.withToken("tok").get("/v1/models").json().path("models").toString())
                .contains("\"name\":\"digits\"").contains("\"classifier\":true");
    }
}
