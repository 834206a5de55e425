using SerEngine.Backends;
using SerEngine.Backends.Cpu;
using SerEngine.Cli.Bench;

namespace SerEngine.Tests.Cli;

/// <summary><c>ser bench --profile</c>'s backend: every conv2d row names the path its pass ran (<c>path=NAME</c>).</summary>
public class ProfilingBackendTests
{
    [Fact]
    public void Conv2dRowsNameTheirPath()
    {
        var p = new ProfilingBackend(1);
        var g = new Conv2dGeometry(2, 1, 26, 63, 8, 10, 2, 1, 1, 4, 4, 0, 0, 1, 1); // FocusCalibrationNet's conv1a
        Storage Zeros(int n)
        {
            var s = p.Allocate(n, DType.Float32);
            p.Fill(s, n, 0.5f);
            return s;
        }
        Storage x = Zeros(g.N * g.C * g.H * g.W), w = Zeros(g.K * g.C * g.R * g.S), y = Zeros(g.N * g.K * g.OutH * g.OutW);
        for (int i = 0; i < 2; i++)
        {
            p.Reset(); // the second round only: no compile times, so every row is well above the report's 0.5 % cut
            p.Conv2dForward(x, w, null, y, g);
            p.Conv2dBackwardInput(y, w, x, g);
            p.Conv2dBackwardWeight(x, y, w, g);
        }
        var report = new StringWriter();
        p.Report(report, 1);
        string text = report.ToString(), shape = "x[2,1,26,63] w[8,1,10,2] s1";
        foreach (var (row, pass) in new[] { ("Conv2dForward", Conv2dPass.Forward), ("Conv2dBackwardInput", Conv2dPass.BackwardInput), ("Conv2dBackwardWeight", Conv2dPass.BackwardWeight) })
            Assert.Contains($"{row} {shape} path={Conv2dPathNames.Of(p.ChooseConv2dPath(pass, g))}", text);
    }
}
