using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace Outbox.Tests.Dashboard;

/// <summary>
/// Headless Chromium from Debian's chromium and chromium-driver packages, driven by Selenium with
/// both paths given, so Selenium Manager never looks for (or downloads) a browser. Missing, the
/// test is skipped with what to install; with CI=true it fails.
/// </summary>
public sealed class Chromium : IDisposable
{
    private const string Browser = "/usr/bin/chromium";
    private const string Driver = "/usr/bin/chromedriver";
    private readonly string _profile = Directory.CreateTempSubdirectory("outbox-chromium-").FullName;

    private Chromium()
    {
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(Driver)!, Path.GetFileName(Driver));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = Browser };
        options.AddArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,1000", $"--user-data-dir={_profile}");
        Web = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    /// <summary>The browser.</summary>
    public ChromeDriver Web { get; }

    public static Chromium Start()
    {
        if (!File.Exists(Browser) || !File.Exists(Driver))
        {
            const string Missing = $"no headless browser: {Browser} or {Driver} is missing; install the Debian packages chromium and chromium-driver (apt-get install -y chromium chromium-driver)";
            if (Infrastructure.PostgresServer.OnCi)
            {
                Assert.Fail($"CI=true but {Missing}");
            }

            Assert.Skip(Missing);
        }

        // Belt and braces: were Selenium Manager ever asked, it must not go online.
        Environment.SetEnvironmentVariable("SE_OFFLINE", "true");
        return new Chromium();
    }

    /// <summary>Saves what the browser shows as TestResults/dashboard/NAME.png under the test output directory.</summary>
    public void Screenshot(string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "TestResults", "dashboard");
        Directory.CreateDirectory(folder);
        Web.GetScreenshot().SaveAsFile(Path.Combine(folder, name + ".png"));
    }

    public IWebElement Find(string css) => Web.FindElement(By.CssSelector(css));

    public void Dispose()
    {
        Web.Quit();
        Web.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still be writing its profile as it exits; the temp folder keeps it.
        }
    }
}
