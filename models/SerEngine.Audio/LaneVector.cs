using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SerEngine.Audio;

/// <summary>
/// The few vector operations the batched STFT needs, over one vector width, so that one generic
/// kernel (<see cref="FftBatch{T}"/>, <see cref="StftBatch"/>) runs with 256-bit
/// (<see cref="Lanes256{T}"/>) or 512-bit (<see cref="Lanes512{T}"/>) vectors. Every operation is
/// lane by lane, so both widths give the same bits in every lane (VectorWidthDeterminismTests pins it).
/// </summary>
internal interface ILaneVector<TSelf, T>
    where TSelf : unmanaged, ILaneVector<TSelf, T>
    where T : unmanaged
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    /// <summary>Every lane <paramref name="value"/>.</summary>
    static abstract TSelf Broadcast(T value);

    /// <summary>Lane-wise square root.</summary>
    static abstract TSelf Sqrt(TSelf a);

    /// <summary>Lane-wise sum.</summary>
    static abstract TSelf operator +(TSelf a, TSelf b);

    /// <summary>Lane-wise difference.</summary>
    static abstract TSelf operator -(TSelf a, TSelf b);

    /// <summary>Lane-wise product.</summary>
    static abstract TSelf operator *(TSelf a, TSelf b);
}

/// <summary>A <see cref="Vector256{T}"/> as an <see cref="ILaneVector{TSelf, T}"/>.</summary>
internal readonly struct Lanes256<T>(Vector256<T> v) : ILaneVector<Lanes256<T>, T>
    where T : unmanaged
{
    /// <summary>The vector.</summary>
    public readonly Vector256<T> V = v;

    public static int Count => Vector256<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Broadcast(T value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> Sqrt(Lanes256<T> a) => new(Vector256.Sqrt(a.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> operator +(Lanes256<T> a, Lanes256<T> b) => new(a.V + b.V);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> operator -(Lanes256<T> a, Lanes256<T> b) => new(a.V - b.V);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes256<T> operator *(Lanes256<T> a, Lanes256<T> b) => new(a.V * b.V);
}

/// <summary>A <see cref="Vector512{T}"/> as an <see cref="ILaneVector{TSelf, T}"/>.</summary>
internal readonly struct Lanes512<T>(Vector512<T> v) : ILaneVector<Lanes512<T>, T>
    where T : unmanaged
{
    /// <summary>The vector.</summary>
    public readonly Vector512<T> V = v;

    public static int Count => Vector512<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Broadcast(T value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Sqrt(Lanes512<T> a) => new(Vector512.Sqrt(a.V));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> operator +(Lanes512<T> a, Lanes512<T> b) => new(a.V + b.V);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> operator -(Lanes512<T> a, Lanes512<T> b) => new(a.V - b.V);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> operator *(Lanes512<T> a, Lanes512<T> b) => new(a.V * b.V);
}
