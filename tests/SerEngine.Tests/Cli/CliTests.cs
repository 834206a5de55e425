using SerEngine.Cli;
using SerEngine.Tests.Conformance;

namespace SerEngine.Tests.Cli;

public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string[] Lines(string text) => text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

    [Fact]
    public void ConformanceExitsZeroWhenEveryFixturePassesAndOneWhenAnyFails()
    {
        using var files = new FixtureFiles();
        files.WriteLinear("linear_good");
        files.WriteLinear("linear_wrong", outputError: 1.5f);

        var pass = Run("conformance", files.Directory, "--match", "*_good");
        Assert.Equal(0, pass.Code);
        Assert.Equal("", pass.Err);
        var passLines = Lines(pass.Out);
        Assert.Equal(2, passLines.Length);
        Assert.StartsWith("PASS linear_good worst=", passLines[0]);
        Assert.Equal("conformance: 1 passed, 0 failed", passLines[1]);

        var fail = Run("conformance", files.Directory, "--backend", "cpu-reference", "--kind", "op");
        Assert.Equal(1, fail.Code);
        var failLines = Lines(fail.Out);
        Assert.StartsWith("PASS linear_good worst=", failLines[0]);
        Assert.StartsWith("FAIL linear_wrong tensor=out.y ratio=", failLines[1]);
        Assert.Equal("conformance: 1 passed, 1 failed", failLines[2]);
    }

    [Fact]
    public void ConformanceOnTheSharedFixturesRunsLinearAndMatMul()
    {
        var r = Run("conformance", SharedFixtures.Directory, "--backend=cpu", "--match", "linear_3d", "--match", "matmul_batched");
        Assert.Equal(0, r.Code);
        Assert.Equal(3, Lines(r.Out).Length);
        Assert.EndsWith("conformance: 2 passed, 0 failed", r.Out.TrimEnd());
    }

    [Fact]
    public void VersionPrintsThePackageVersion()
    {
        var r = Run("--version");
        Assert.Equal(0, r.Code);
        var lines = Lines(r.Out);
        Assert.Equal(2, lines.Length);
        Assert.Equal("ser 0.1.0", lines[0]);
        Assert.StartsWith("build: managed (.NET 10.", lines[1]); // the tests run JIT-compiled
        Assert.Matches(@", cpu SIMD (128|256|512)-bit$", lines[1]);
    }

    [Fact]
    public void NoMatchingFixtureIsAFailure()
    {
        using var files = new FixtureFiles();
        files.WriteLinear("linear_good");
        var r = Run("conformance", files.Directory, "--kind", "audio");
        Assert.Equal(1, r.Code);
        Assert.Equal($"ser: no fixture in '{files.Directory}' matches the filters", Lines(r.Err).Single());
    }

    [Theory]
    [InlineData("unknown command 'frobnicate'", "frobnicate")]
    [InlineData("no command given")]
    [InlineData("unknown option '--verbose'", "--verbose")]
    [InlineData("needs exactly one fixture directory", "conformance")]
    [InlineData("needs exactly one fixture directory", "conformance", "a", "b")]
    [InlineData("unknown option '--bogus' for 'conformance'", "conformance", "dir", "--bogus")]
    [InlineData("--backend needs a value", "conformance", "dir", "--backend")]
    [InlineData("option '--backend' given more than once", "conformance", "dir", "--backend", "cpu", "--backend", "cpu")]
    [InlineData("unknown fixture kind 'video'", "conformance", "dir", "--kind", "op,video")]
    [InlineData("unknown backend 'tpu' (known: cpu-reference, cpu", "conformance", "dir", "--backend", "tpu")]
    [InlineData("devices takes no arguments", "devices", "extra")]
    [InlineData("unknown command 'nope'", "help", "nope")]
    public void UsageErrorsExitTwoWithOneLine(string message, params string[] args)
    {
        var r = Run(args);
        Assert.Equal(2, r.Code);
        Assert.Equal("", r.Out);
        var line = Lines(r.Err).Single();
        Assert.StartsWith("ser: ", line);
        Assert.Contains(message, line);
    }

    [Fact]
    public void RuntimeErrorsExitOneWithOneLineAndNoStackTrace()
    {
        var missing = Path.Combine(Path.GetTempPath(), "serengine-no-such-dir-" + Guid.NewGuid().ToString("N"));
        var r = Run("conformance", missing);
        Assert.Equal(1, r.Code);
        Assert.Equal($"ser: fixture directory '{missing}' does not exist", Lines(r.Err).Single());
        Assert.DoesNotContain(" at ", r.Err);
    }

    [Fact]
    public void DevicesListsTheCpuBackends()
    {
        var r = Run("devices");
        Assert.Equal(0, r.Code);
        Assert.Equal("", r.Err);
        var lines = Lines(r.Out);
        Assert.Contains(lines, l => l.StartsWith("cpu-reference ", StringComparison.Ordinal) && l.Contains("host CPU", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("cpu ", StringComparison.Ordinal) && l.Contains("host CPU", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    public void HelpListsTheCommands(string arg)
    {
        var r = Run(arg);
        Assert.Equal(0, r.Code);
        Assert.Equal("", r.Err);
        Assert.Contains("usage: ser COMMAND", r.Out);
        foreach (var c in CliApp.Commands) Assert.Contains($"  {c.Name} ", r.Out);
    }

    [Fact]
    public void CommandHelpShowsItsOptions()
    {
        var a = Run("conformance", "--help");
        var b = Run("help", "conformance");
        Assert.Equal(0, a.Code);
        Assert.Equal(a.Out, b.Out);
        Assert.StartsWith("usage: ser conformance DIR", a.Out);
        foreach (var o in new[] { "--backend NAME", "--kind LIST", "--match GLOB" }) Assert.Contains(o, a.Out);
    }
}
