using System.Diagnostics;
using SerEngine.Cli;

namespace SerEngine.Tests.Cli;

/// <summary>
/// <c>ser completion bash</c>: the generated script is run by bash with the words of a command line, as
/// bash's completion would, and must offer the commands, a command's options and each option's values
/// (choices, backends, bench cases; nothing for a number); another shell is refused in one line.
/// </summary>
public sealed class CompletionCommandTests : IDisposable
{
    private readonly string _script = Path.Combine(Directory.CreateTempSubdirectory("serengine-completion-").FullName, "ser.bash");

    public CompletionCommandTests()
    {
        var stdout = new StringWriter();
        Assert.Equal(0, CliApp.Run(["completion", "bash"], stdout, new StringWriter()));
        File.WriteAllText(_script, stdout.ToString());
    }

    public void Dispose() => Directory.Delete(Path.GetDirectoryName(_script)!, recursive: true);

    [Theory]
    [InlineData("ser tr", "train")]
    [InlineData("ser train --mo", "--model")]
    [InlineData("ser train --model ", "fcn fca")]
    [InlineData("ser train --format e", "emodb")]
    [InlineData("ser train --split ", "speaker random")]
    [InlineData("ser eval --backend o", "opencl")]
    [InlineData("ser bench --case sg", "sgemm.1024")]
    [InlineData("ser features --kind m", "mfcc")]
    [InlineData("ser help co", "corpus conformance completion")]
    [InlineData("ser train --epochs ", "")]
    [InlineData("ser completion ", "bash")]
    public void BashCompletesCommandsOptionsAndValues(string line, string expected)
    {
        var words = line.Split(' ');
        string array = string.Join(' ', words.Select(w => $"'{w}'"));
        var bash = new ProcessStartInfo("bash", ["-c", $"source '{_script}'; COMP_WORDS=({array}); COMP_CWORD={words.Length - 1}; _ser; printf '%s\\n' \"${{COMPREPLY[@]}}\""])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(bash)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"bash exited {p.ExitCode}: {error}");
        var offered = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal);
        Assert.Equal(expected.Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal), offered);
    }

    [Fact]
    public void AnotherShellIsRefusedInOneLine()
    {
        var stderr = new StringWriter();
        Assert.Equal(2, CliApp.Run(["completion", "fish"], new StringWriter(), stderr));
        Assert.Equal("ser: completion needs the shell: 'ser completion bash' (zsh: the same after 'autoload -U bashcompinit; bashcompinit'), got 'fish'" + Environment.NewLine, stderr.ToString());
    }
}
