using SerEngine.IO;

namespace SerEngine.Audio;

/// <summary>A row-major double-precision matrix <c>[Rows, Columns]</c>: the front end's intermediate results.</summary>
public sealed class DoubleMatrix
{
    /// <summary>Wraps <paramref name="values"/> (not copied) as <c>[rows, columns]</c>.</summary>
    public DoubleMatrix(double[] values, int rows, int columns)
    {
        if (rows < 0 || columns < 0 || values.Length != (long)rows * columns)
            throw new ArgumentException($"{values.Length} values do not fill a [{rows}, {columns}] matrix");
        Values = values;
        Rows = rows;
        Columns = columns;
    }

    /// <summary>Values, row-major.</summary>
    public double[] Values { get; }

    /// <summary>Rows (bins, mels or coefficients; frequencies for a filterbank).</summary>
    public int Rows { get; }

    /// <summary>Columns (frames; mels for a filterbank).</summary>
    public int Columns { get; }

    /// <summary>Element at (row, column).</summary>
    public double this[int row, int column] => Values[row * Columns + column];

    /// <summary>Rounds to float32.</summary>
    public FeatureMatrix ToFeatureMatrix()
    {
        var f = new float[Values.Length];
        for (int i = 0; i < f.Length; i++) f[i] = (float)Values[i];
        return new FeatureMatrix(f, Rows, Columns);
    }
}

/// <summary>
/// A feature map <c>[Bins, Frames]</c> in float32 (row-major: <c>Values[bin·Frames + frame]</c>),
/// the layout the models take as one input channel.
/// </summary>
public sealed class FeatureMatrix
{
    /// <summary>Wraps <paramref name="values"/> (not copied) as <c>[bins, frames]</c>.</summary>
    public FeatureMatrix(float[] values, int bins, int frames)
    {
        if (bins < 0 || frames < 0 || values.Length != (long)bins * frames)
            throw new ArgumentException($"{values.Length} values do not fill a [{bins}, {frames}] feature matrix");
        Values = values;
        Bins = bins;
        Frames = frames;
    }

    /// <summary>Values, <c>[Bins, Frames]</c> row-major.</summary>
    public float[] Values { get; }

    /// <summary>Feature rows (frequency bins, mel bands or cepstral coefficients).</summary>
    public int Bins { get; }

    /// <summary>Time frames.</summary>
    public int Frames { get; }

    /// <summary>Element at (bin, frame).</summary>
    public float this[int bin, int frame] => Values[bin * Frames + frame];

    /// <summary>Widens to double precision (exactly).</summary>
    public DoubleMatrix ToDoubleMatrix() => new(Array.ConvertAll(Values, v => (double)v), Bins, Frames);

    /// <summary>The values as a host tensor of shape <c>[Bins, Frames]</c> (shares the array).</summary>
    public HostTensor ToHostTensor() => new(new Shape(Bins, Frames), Values);
}
