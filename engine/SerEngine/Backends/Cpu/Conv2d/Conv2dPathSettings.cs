namespace SerEngine.Backends.Cpu;

/// <summary>
/// Which conv2d paths the fast CPU backend may take (<see cref="CpuBackend.Conv2dPaths"/>): at most one
/// path forced, taken wherever it supports the pass and geometry (elsewhere the routing's rules
/// decide), and any number disabled, which the rules skip. Written as in
/// <c>$SERENGINE_CPU_CONV2D_PATH</c>: path names (<see cref="Conv2dPathNames"/>) separated by commas,
/// at most one plain (forced) and any number with a leading minus (disabled), e.g.
/// <c>winograd-f23</c>, <c>-winograd-f23,-winograd-f25</c> or <c>shifted-window,-channel-vector</c>.
/// Empty (the default): the rules alone. <c>implicit-gemm</c> runs every geometry, so it may be
/// forced but not disabled.
/// </summary>
public readonly record struct Conv2dPathSettings
{
    /// <summary>Environment variable the fast CPU backend reads its settings from (see the type's summary).</summary>
    public const string EnvironmentVariable = "SERENGINE_CPU_CONV2D_PATH";

    private readonly int _disabled; // bit (int)path set: the rules skip that path

    private Conv2dPathSettings(Conv2dPath? forced, int disabled)
    {
        Forced = forced;
        _disabled = disabled;
    }

    /// <summary>The path taken wherever it supports the pass and geometry, or null (the rules decide everywhere).</summary>
    public Conv2dPath? Forced { get; }

    /// <summary>No path forced or disabled: the routing's rules alone.</summary>
    public static Conv2dPathSettings Default => default;

    /// <summary>These settings with <paramref name="path"/> forced (replacing any forced before).</summary>
    /// <exception cref="ArgumentException">the path is disabled.</exception>
    public Conv2dPathSettings Force(Conv2dPath path)
    {
        if (IsDisabled(path)) throw new ArgumentException($"conv2d path {Conv2dPathNames.Of(path)} is disabled; it cannot be forced too");
        return new(path, _disabled);
    }

    /// <summary>These settings with <paramref name="paths"/> disabled as well.</summary>
    /// <exception cref="ArgumentException">a path is <see cref="Conv2dPath.ImplicitGemm"/> (the fallback) or the forced one.</exception>
    public Conv2dPathSettings Disable(params ReadOnlySpan<Conv2dPath> paths)
    {
        int disabled = _disabled;
        foreach (var path in paths)
        {
            if (path == Conv2dPath.ImplicitGemm) throw new ArgumentException("conv2d path implicit-gemm runs every geometry; it cannot be disabled");
            if (path == Forced) throw new ArgumentException($"conv2d path {Conv2dPathNames.Of(path)} is forced; it cannot be disabled too");
            disabled |= 1 << (int)path;
        }
        return new(Forced, disabled);
    }

    /// <summary>True when the rules skip <paramref name="path"/>.</summary>
    public bool IsDisabled(Conv2dPath path) => (_disabled & (1 << (int)path)) != 0;

    /// <summary>The settings written as <paramref name="text"/> (see the type's summary); null or blank gives <see cref="Default"/>.</summary>
    /// <exception cref="ArgumentException">an unknown name, two forced paths, or a path both forced and disabled.</exception>
    public static Conv2dPathSettings Parse(string? text)
    {
        var settings = Default;
        if (string.IsNullOrWhiteSpace(text)) return settings;
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (item.StartsWith('-'))
            {
                settings = settings.Disable(Conv2dPathNames.Parse(item[1..]));
                continue;
            }
            if (settings.Forced is { } forced)
                throw new ArgumentException($"conv2d paths '{text}' force both {Conv2dPathNames.Of(forced)} and {item}; force one at most");
            settings = settings.Force(Conv2dPathNames.Parse(item));
        }
        return settings;
    }

    /// <summary>The settings in <c>$SERENGINE_CPU_CONV2D_PATH</c> (<see cref="Default"/> when unset).</summary>
    /// <exception cref="ArgumentException">the variable does not parse (the message names it).</exception>
    public static Conv2dPathSettings FromEnvironment()
    {
        string? value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        try
        {
            return Parse(value);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"${EnvironmentVariable} = '{value}': {e.Message}", e);
        }
    }

    /// <summary>The settings as <see cref="Parse"/> reads them: the forced path first, then each disabled one with a minus; empty for <see cref="Default"/>.</summary>
    public override string ToString()
    {
        var items = new List<string>();
        if (Forced is { } forced) items.Add(Conv2dPathNames.Of(forced));
        foreach (var path in Enum.GetValues<Conv2dPath>())
            if (IsDisabled(path)) items.Add("-" + Conv2dPathNames.Of(path));
        return string.Join(",", items);
    }
}
