using System.Text.RegularExpressions;
using SerEngine.Backends;

namespace SerEngine.Tests.Gpu;

/// <summary>Kernel sources and the kernel disk cache: no device needed.</summary>
public class KernelInfrastructureTests
{
    [Fact]
    public void KernelsAndPreludesAreEmbedded()
    {
        var files = KernelSource.EmbeddedFiles;
        Assert.Contains("memory.cl", files);
        Assert.Contains("prelude_opencl.h", files);
        Assert.Contains("prelude_cuda.h", files);

        var cl = KernelSource.Load("memory.cl", KernelDialect.OpenCl, kernelDirectory: ""); // "" = embedded only, whatever $SERENGINE_KERNEL_DIR says
        Assert.Equal("embedded", cl.Origin);
        Assert.StartsWith("#line 1 \"prelude_opencl.h\"\n", cl.Text, StringComparison.Ordinal);
        Assert.Contains("#define KERNEL __kernel", cl.Prelude, StringComparison.Ordinal);
        Assert.EndsWith("#line 1 \"memory.cl\"\n" + cl.Body, cl.Text, StringComparison.Ordinal);
        Assert.Contains("KERNEL void copy_blocks(", cl.Body, StringComparison.Ordinal);
        var cu = KernelSource.Load("memory.cl", KernelDialect.Cuda, kernelDirectory: "");
        Assert.Equal(cl.Body, cu.Body);
        Assert.Contains("#define LOCAL __shared__", cu.Prelude, StringComparison.Ordinal);
    }

    [Fact]
    public void KernelDirectoryOverridesTheEmbeddedCopy()
    {
        var dir = Path.Combine(Path.GetTempPath(), "serengine-kernels-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "memory.cl"), "// edited on disk\n");
            var src = KernelSource.Load("memory.cl", KernelDialect.OpenCl, dir);
            Assert.Equal("// edited on disk\n", src.Body);
            Assert.Equal(Path.Combine(dir, "memory.cl"), src.Origin);
            Assert.Contains("#define GID(n)", src.Prelude, StringComparison.Ordinal); // prelude not in dir: embedded copy
            var ex = Assert.Throws<FileNotFoundException>(() => KernelSource.Load("no_such_kernel.cl", KernelDialect.OpenCl, dir));
            Assert.Contains("no_such_kernel.cl", ex.Message, StringComparison.Ordinal);
            Assert.Contains("memory.cl", ex.Message, StringComparison.Ordinal); // lists what is embedded
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void IncludesAreExpandedInPlaceWithLineMarkers()
    {
        var softmax = KernelSource.Load("softmax.cl", KernelDialect.OpenCl, kernelDirectory: "");
        Assert.Contains("#include \"group.h\"", softmax.Body, StringComparison.Ordinal);
        Assert.DoesNotMatch(new Regex(@"^\s*#\s*include", RegexOptions.Multiline), softmax.Text);
        Assert.Single(Regex.Matches(softmax.Text, @"INLINE float group_max\("));
        int line = Array.FindIndex(softmax.Body.Split('\n'), l => l.StartsWith("#include \"group.h\"", StringComparison.Ordinal)) + 1;
        Assert.Contains($"#line 1 \"group.h\"\n// group.h", softmax.Text, StringComparison.Ordinal);
        Assert.Contains($"#line {line + 1} \"softmax.cl\"\n", softmax.Text, StringComparison.Ordinal);

        var dir = Path.Combine(Path.GetTempPath(), "serengine-kernels-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "a.h"), "#include \"b.h\"\nint a;\n");
            File.WriteAllText(Path.Combine(dir, "b.h"), "#include \"a.h\" // a cycle: a.h is already in\nint b;");
            File.WriteAllText(Path.Combine(dir, "k.cl"), "#include \"a.h\"\n#include \"b.h\"\nint k;\n");
            var k = KernelSource.Load("k.cl", KernelDialect.OpenCl, dir);
            Assert.EndsWith(
                "#line 1 \"k.cl\"\n#line 1 \"a.h\"\n#line 1 \"b.h\"\n#line 2 \"b.h\"\nint b;\n#line 2 \"a.h\"\nint a;\n#line 2 \"k.cl\"\n#line 3 \"k.cl\"\nint k;\n",
                k.Text, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(dir, "bad.cl"), "int x;\n#include \"../secret.h\"\n");
            var ex = Assert.Throws<ArgumentException>(() => KernelSource.Load("bad.cl", KernelDialect.OpenCl, dir));
            Assert.Equal("bad.cl:2: #include \"../secret.h\": only a file of the kernels folder may be included", ex.Message);
            File.WriteAllText(Path.Combine(dir, "missing.cl"), "#include \"nowhere.h\"\n");
            Assert.Throws<FileNotFoundException>(() => KernelSource.Load("missing.cl", KernelDialect.OpenCl, dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(KernelDialect.OpenCl)]
    [InlineData(KernelDialect.Cuda)]
    public void GemmAndConv2dShareOneTileHeader(KernelDialect dialect)
    {
        // the tile defines are written once, in gemm_tiles.h, and both files get them by #include
        foreach (var file in new[] { "gemm.cl", "conv2d.cl" })
        {
            var src = KernelSource.Load(file, dialect, kernelDirectory: "");
            Assert.Contains("#include \"gemm_tiles.h\"", src.Body, StringComparison.Ordinal);
            Assert.DoesNotMatch(new Regex(@"#\s*define\s+(TSM|TSN|TSK|WPTM|WPTN|RTSM|RTSN)\b"), src.Body);
            Assert.Contains("#line 1 \"gemm_tiles.h\"\n// gemm_tiles.h", src.Text, StringComparison.Ordinal);
            Assert.Single(Regex.Matches(src.Text, @"#define RTSM \(TSM / WPTM\)"));
        }
    }

    [Fact]
    public void DiskCacheKeysWritesAndReads()
    {
        Assert.Equal(64, KernelDiskCache.Key("a").Length);
        Assert.Equal(KernelDiskCache.Key("ab", "c"), KernelDiskCache.Key("ab", "c"));
        Assert.NotEqual(KernelDiskCache.Key("ab", "c"), KernelDiskCache.Key("a", "bc"));

        var dir = Path.Combine(Path.GetTempPath(), "serengine-cache-" + Guid.NewGuid().ToString("N"));
        try
        {
            var cache = new KernelDiskCache(Path.Combine(dir, "nested"));
            var key = KernelDiskCache.Key("source", "options", "device");
            Assert.Null(cache.TryRead(key, "bin"));
            Assert.True(cache.Write(key, "bin", [1, 2, 3]));
            Assert.Equal([1, 2, 3], new KernelDiskCache(cache.Directory).TryRead(key, "bin"));
            Assert.True(cache.Write(key, "bin", [4, 5])); // rename over an existing entry
            Assert.Equal([4, 5], cache.TryRead(key, "bin"));
            Assert.Equal((1, 1, 2), (cache.Hits, cache.Misses, cache.Writes));
            Assert.Equal([cache.EntryPath(key, "bin")], Directory.GetFiles(cache.Directory));
            cache.Delete(key, "bin");
            Assert.Null(cache.TryRead(key, "bin"));

            // a cache folder that cannot be created: the write fails quietly and says why
            var blocker = Path.Combine(dir, "a-file");
            File.WriteAllText(blocker, "");
            var broken = new KernelDiskCache(Path.Combine(blocker, "sub"));
            Assert.False(broken.Write(key, "bin", [1]));
            Assert.NotNull(broken.LastError);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>Tests that change process environment variables run alone.</summary>
[CollectionDefinition("environment", DisableParallelization = true)]
public sealed class EnvironmentCollection;

[Collection("environment")]
public class KernelCacheEnvironmentTests
{
    [Fact]
    public void EnvironmentVariableMovesOrDisablesTheCache()
    {
        var saved = Environment.GetEnvironmentVariable(KernelDiskCache.EnvironmentVariable);
        var savedXdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        try
        {
            Environment.SetEnvironmentVariable(KernelDiskCache.EnvironmentVariable, "off");
            Assert.Null(KernelDiskCache.ResolveDirectory());
            Assert.Null(KernelDiskCache.FromEnvironment());
            Environment.SetEnvironmentVariable(KernelDiskCache.EnvironmentVariable, "/tmp/serengine-elsewhere");
            Assert.Equal("/tmp/serengine-elsewhere", KernelDiskCache.FromEnvironment()!.Directory);
            Environment.SetEnvironmentVariable(KernelDiskCache.EnvironmentVariable, null);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", "/tmp/xdg");
            Assert.Equal("/tmp/xdg/serengine/kernels", KernelDiskCache.ResolveDirectory());
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", null);
            Assert.Equal(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache/serengine/kernels"),
                KernelDiskCache.ResolveDirectory());
        }
        finally
        {
            Environment.SetEnvironmentVariable(KernelDiskCache.EnvironmentVariable, saved);
            Environment.SetEnvironmentVariable("XDG_CACHE_HOME", savedXdg);
        }
    }
}
