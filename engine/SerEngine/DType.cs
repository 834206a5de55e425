namespace SerEngine;

/// <summary>Element type of a tensor. Float32 carries all values; Int32 carries labels and masks.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float.</summary>
    Float32,

    /// <summary>32-bit signed integer (class labels, key masks, pooling indices).</summary>
    Int32,
}

/// <summary>Helpers for <see cref="DType"/>.</summary>
public static class DTypeExtensions
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this DType dtype) => 4;
}
