namespace SerEngine.Tests;

/// <summary>Finds shared/fixtures: the folder beside the repository root (../shared/fixtures).</summary>
public static class SharedFixtures
{
    /// <summary>
    /// Walks up from the test binaries until a directory has a <c>shared/fixtures</c> folder holding
    /// safetensors files; fails with the places searched when there is none.
    /// </summary>
    public static string Directory
    {
        get
        {
            var searched = new List<string>();
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "fixtures");
                searched.Add(candidate);
                if (System.IO.Directory.Exists(candidate) && System.IO.Directory.EnumerateFiles(candidate, "*.safetensors").Any())
                    return candidate;
            }
            throw new DirectoryNotFoundException(
                $"no shared/fixtures folder with *.safetensors files found above {AppContext.BaseDirectory} (looked in: {string.Join(", ", searched)}); " +
                "the repository must sit beside ../shared");
        }
    }

    /// <summary>Every fixture file, sorted by name.</summary>
    public static string[] Files => [.. System.IO.Directory.GetFiles(Directory, "*.safetensors").Order(StringComparer.Ordinal)];
}
