using SerEngine.Cli;

namespace SerEngine.Tests.Cli;

/// <summary>Which runs record and replay a multi-core JIT profile, and under what name.</summary>
public sealed class JitProfileTests
{
    [Fact]
    public void ModelCommandsGetOneProfilePerModelAndBuild()
    {
        string fca = JitProfile.ProfileName(["train", "--model", "fca", "--data", "d"], "/opt/a/")!;
        string fcn = JitProfile.ProfileName(["train", "--model", "fcn"], "/opt/a/")!;
        Assert.Matches(@"^train-fca-[0-9a-f]{12}\.jitprofile$", fca);
        Assert.Matches(@"^train-fcn-[0-9a-f]{12}\.jitprofile$", fcn);
        Assert.Equal(fca, JitProfile.ProfileName(["train", "--data", "d", "--model", "fca"], "/opt/a/"));
        Assert.NotEqual(fca, JitProfile.ProfileName(["train", "--model", "fca"], "/opt/b/")); // another build
        Assert.Matches(@"^predict-[0-9a-f]{12}\.jitprofile$", JitProfile.ProfileName(["predict", "x.wav"], "/opt/a/")!);
        Assert.Matches(@"^train-[0-9a-f]{12}\.jitprofile$", JitProfile.ProfileName(["train", "--model", "../x"], "/opt/a/")!);
    }

    [Fact]
    public void OtherCommandsGetNone()
    {
        Assert.Null(JitProfile.ProfileName([], "/opt/a/"));
        Assert.Null(JitProfile.ProfileName(["bench", "--case", "sgemm.1024"], "/opt/a/"));
        Assert.Null(JitProfile.ProfileName(["conformance", "f"], "/opt/a/"));
    }
}
